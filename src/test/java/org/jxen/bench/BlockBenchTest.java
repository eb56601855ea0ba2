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
        BlockBench bench = new BlockBench(new BlockBench.Config(0.2, 0, List.of("randread-4k", "inproc", "floor", "q1")), System.err);
        List<BlockBench.Row> rows = bench.run();
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
