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
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream progress = new PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8);
        HypervisorBench bench = new HypervisorBench(new HypervisorBench.Config(0.2, 0.05, only), progress);
        List<HvRow> rows = bench.run();
        // Announced: 11 windows of 0.25 s (notify and copy runs time two windows each, map one); every run, in order.
        assertThat(printed.toString(java.nio.charset.StandardCharsets.UTF_8).lines().toList()).startsWith(
                "bench hypervisor: 6 runs, 2.75 s in all (each window 0.05 s warm-up + 0.2 s measured)",
                "bench hypervisor: [1/6] notify-inproc-blocking (2 windows), 2.75 s left",
                "bench hypervisor: [2/6] notify-inproc-polling (2 windows), 2.25 s left",
                "bench hypervisor: [3/6] notify-xproc-blocking (2 windows), 1.75 s left",
                "bench hypervisor: [4/6] map-inproc, 1.25 s left",
                "bench hypervisor: [5/6] copy-inproc (2 windows), 1 s left",
                "bench hypervisor: [6/6] copy-inproc-cold (2 windows), 0.5 s left");

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
