package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** rate= as libxlu_vif.c parses it, and the backend node libxl writes from it. */
class VifRateTest {
    @Test
    void ratesAndIntervalsAsLibxlu() {
        assertThat(VifRate.parse("10Mb/s@20ms").xenstoreValue()).isEqualTo("25000,20000");
        assertThat(VifRate.parse("20Mb/s").xenstoreValue()).isEqualTo("125000,50000"); // 50 ms by default
        assertThat(VifRate.parse("1MB/s@1s").xenstoreValue()).isEqualTo("1000000,1000000");
        assertThat(VifRate.parse("1MB/s@1").xenstoreValue()).isEqualTo("1000000,1000000"); // a bare number: seconds
        assertThat(VifRate.parse("8Kb/s@500ms").xenstoreValue()).isEqualTo("500,500000");
        assertThat(VifRate.parse("8Kb/s@500us").xenstoreValue()).isEqualTo("0,500"); // bytes per interval rounded down
        assertThat(VifRate.parse("1GB/s@10ms").xenstoreValue()).isEqualTo("10000000,10000");
        assertThat(VifRate.parse("100B/s").xenstoreValue()).isEqualTo("5,50000");
        assertThat(VifRate.parse("010B/s@1s").xenstoreValue()).isEqualTo("8,1000000"); // strtoull base 0: octal
    }

    @Test
    void refusedWithLibxlusWords() {
        assertThatThrownBy(() -> VifRate.parse("")).hasMessage("config parsing error in vif: no rate specified in `'");
        assertThatThrownBy(() -> VifRate.parse("10Mb")).hasMessage("config parsing error in vif: invalid rate in `10Mb'");
        assertThatThrownBy(() -> VifRate.parse("0Mb/s")).hasMessage("config parsing error in vif: rate overflow in `0Mb/s'");
        assertThatThrownBy(() -> VifRate.parse("5000000000B/s"))
                .hasMessage("config parsing error in vif: rate overflow in `5000000000B/s'");
        assertThatThrownBy(() -> VifRate.parse("1Mb/s@10h"))
                .hasMessage("config parsing error in vif: invalid replenishment interval in `10h'");
        assertThatThrownBy(() -> VifRate.parse("1Mb/s@5000s"))
                .hasMessage("config parsing error in vif: replenishment interval overflow in `5000s'");
    }

    @Test
    void theSpecWritesRateIntoTheBackendOnlyWhenGiven() {
        assertThat(VifSpec.parse("rate=10Mb/s@20ms", 0).device(0).backendNodes()).containsEntry("rate", "25000,20000");
        assertThat(VifSpec.parse("", 0).device(0).backendNodes()).doesNotContainKey("rate");
        assertThatThrownBy(() -> VifSpec.parse("rate=fast", 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid rate in `fast'");
    }
}
