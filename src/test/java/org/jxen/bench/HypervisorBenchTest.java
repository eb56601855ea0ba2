package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs the hypervisor bench briefly: every row appears, with work done and nothing failed. No timing asserted. */
class HypervisorBenchTest {
    @Test
    void everyRowIsPresentWithPositiveCountsAndNoErrors() throws Exception {
        List<String> only = List.of("notify-inproc-blocking", "notify-inproc-polling", "map-inproc", "copy-inproc",
                "copy-inproc-cold", "notify-xproc-blocking");
        PrintStream progress = new PrintStream(new ByteArrayOutputStream());
        HypervisorBench bench = new HypervisorBench(new HypervisorBench.Config(0.2, 0.05, only), progress);
        List<HvRow> rows = bench.run();

        assertThat(rows).extracting(r -> r.measurement() + " / " + r.mode()).containsExactly(
                "notify half-RTT / in-process, receiver blocked",
                "notify sends / in-process, receiver blocked",
                "notify deliveries / in-process, receiver blocked",
                "notify half-RTT / in-process, receiver polling",
                "notify sends / in-process, receiver polling",
                "notify deliveries / in-process, receiver polling",
                "notify half-RTT / cross-process, receiver blocked",
                "notify sends / cross-process, receiver blocked",
                "notify deliveries / cross-process, receiver blocked",
                "grant map+unmap / in-process",
                "grant copy 64 x 4 KiB / in-process, hot 256 KiB set",
                "plain copy 64 x 4 KiB / in-process, hot 256 KiB set",
                "grant copy / plain copy / in-process, hot 256 KiB set",
                "grant copy 64 x 4 KiB / in-process, cold 32 MiB set",
                "plain copy 64 x 4 KiB / in-process, cold 32 MiB set",
                "grant copy / plain copy / in-process, cold 32 MiB set");
        for (HvRow r : rows) {
            assertThat(r.count()).as(r.measurement() + " " + r.mode()).isPositive();
            assertThat(r.value()).as(r.measurement() + " " + r.mode()).isPositive();
            assertThat(r.errors()).as(r.measurement() + " " + r.mode()).isZero();
        }
        String table = HvRow.markdown(rows);
        assertThat(table).startsWith("| measurement | mode | value | unit | p50 us | p99 us |").contains("Targets:");
        assertThat(rows.get(0).toJson()).startsWith("{\"measurement\":\"notify half-RTT\"");
        assertThat(bench.placement().lines()).startsWith("- cpu placement at start: ").contains("\n- cpu placement at end: ");
    }

    @Test
    void unknownMeasurementsAreRejected() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new HypervisorBench.Config(1, 0, List.of("nope")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("notify-inproc-blocking");
    }
}
