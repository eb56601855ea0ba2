package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** jxen bench block with tiny windows: the rows come out, without errors; no timing assertions. */
class BlockBenchTest {
    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void inProcessOneQueueRandomReadAndTheFloor() throws Exception {
        java.io.ByteArrayOutputStream progress = new java.io.ByteArrayOutputStream();
        BlockBench bench = new BlockBench(new BlockBench.Config(0.2, 0, List.of("randread-4k", "inproc", "floor", "q1")),
                new java.io.PrintStream(progress, true, java.nio.charset.StandardCharsets.UTF_8));
        List<BlockBench.Row> rows = bench.run();
        // The runs it announced are those it made, in that order (Progress refuses any other), with the time left.
        assertThat(progress.toString(java.nio.charset.StandardCharsets.UTF_8)).contains(
                "bench block: 3 runs, 0.6 s in all (each window 0 s warm-up + 0.2 s measured)\n",
                "bench block: [1/3] floor randread-4k, 0.6 s left\n",
                "bench block: [2/3] inproc q1 null randread-4k, 0.4 s left\n",
                "bench block: [3/3] inproc q1 file randread-4k, 0.2 s left\n",
                "bench block: done in ");
        assertThat(rows).extracting(r -> r.workload() + "/" + r.guest() + "/" + r.backend() + "/" + r.queues())
                .containsExactly("randread-4k/floor/file/-", "randread-4k/inproc/null/1", "randread-4k/inproc/file/1");
        assertThat(rows).allSatisfy(r -> {
            assertThat(r.error()).isNull();
            assertThat(r.count()).isPositive();
            assertThat(r.unit()).isEqualTo("IOPS");
        });
        assertThat(BlockBench.markdown(rows)).startsWith("| workload | guest | backend | queues | value | unit | p50 us | p99 us |");
        assertThat(BlockBench.targets(rows)).contains("in-process >= 300k IOPS");
        assertThat(rows.get(0).toJson()).startsWith("{\"workload\":\"randread-4k\",\"guest\":\"floor\"");
        assertThat(bench.placement().lines()).startsWith("- cpu placement at start: ").contains("\n- cpu placement at end: ");
    }
}
