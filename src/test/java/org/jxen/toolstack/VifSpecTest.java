package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** xl's network spec as libxl turns it into store keys, with libxl's defaults. */
class VifSpecTest {
    @Test
    void keysAsLibxlWritesThem() {
        DeviceSpec d = VifSpec.parse("mac=00:16:3E:0a:0b:0c, bridge=br1, ip=10.0.0.2/24, mtu=9000", -1).device(3);
        assertThat(d.kind()).isEqualTo("vif");
        assertThat(d.devid()).isEqualTo(3);
        assertThat(d.backendNodes()).containsAllEntriesOf(Map.of("mac", "00:16:3e:0a:0b:0c", "bridge", "br1", "handle", "3",
                "type", "vif", "ip", "10.0.0.2/24", "mtu", "9000", "hotplug-status", ""));
        assertThat(d.backendNodes().get("script")).endsWith("/vif-bridge");
        assertThat(d.frontendNodes()).isEqualTo(Map.of("handle", "3", "mac", "00:16:3e:0a:0b:0c", "trusted", "1", "mtu", "9000"));
    }

    @Test
    void anEmptySpecGetsARandomXenMacAndTheDefaultBridge() {
        DeviceSpec d = VifSpec.parse("", -1).device(0);
        assertThat(d.backendNodes().get("mac")).matches("00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}");
        assertThat(d.backendNodes().get("bridge")).isEqualTo("xenbr0");
        assertThat(d.backendNodes()).doesNotContainKeys("mtu", "ip");
        assertThat(d.frontendNodes().get("mtu")).isEqualTo("1500");
        assertThat(VifSpec.parse("devid=5,untrusted", -1).device(0).frontendNodes()).containsEntry("handle", "5")
                .containsEntry("trusted", "0");
    }

    @Test
    void refusals() {
        assertThatThrownBy(() -> VifSpec.parse("mac=00:16:3e:0a", -1)).hasMessage("invalid mac address '00:16:3e:0a'");
        assertThatThrownBy(() -> VifSpec.parse("colour=red", -1)).hasMessage("unrecognized argument `colour=red'");
        assertThatThrownBy(() -> VifSpec.parse("type=ioemu", -1)).hasMessage("type ioemu is not supported (only vif)");
    }
}
