package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bench against a fake xenstored; no timing assertions, only that everything is run, counted and reported.
 * {@code jxen bench xenstore} on top of it is org.jxen.cli.BenchCommandTest.
 */
class XenStoreBenchTest {
    @TempDir
    Path dir;

    private FakeXenStored fake;

    @AfterEach
    void stop() throws IOException {
        if (fake != null) fake.close();
    }

    @Test
    void everyWorkloadRunsWithoutErrorsAgainstAnAlwaysOkDaemon() throws IOException {
        fake = new FakeXenStored(dir.resolve("socket"), null);
        var config = new XenStoreBench.Config(fake.socket, List.of(1, 2), 2, 0.5, 0.05, XenStoreBench.WORKLOADS);
        List<BenchResult> results = new XenStoreBench(config, new PrintStream(new ByteArrayOutputStream())).run();

        assertThat(results).extracting(r -> r.workload() + "/" + r.conns()).containsExactly(
                "write/1", "write/2", "read/1", "read/2", "directory/1", "directory/2",
                "transaction/1", "transaction/2", "watch/1", "echo-floor/1");
        assertThat(results).allSatisfy(r -> {
            assertThat(r.ops()).as(r.workload()).isPositive();
            assertThat(r.errors()).as(r.workload() + " " + r.errorKinds()).isZero();
            assertThat(r.p99Nanos()).isGreaterThanOrEqualTo(r.p50Nanos());
        });
        String table = BenchResult.markdown(results);
        assertThat(table).startsWith("| workload | conns | pipeline | ops/s | p50 us | p99 us |");
        for (BenchResult r : results) assertThat(table).contains("| " + r.workload() + " | " + r.conns() + " | " + r.pipeline() + " |");
        assertThat(fake.removedBench).as("RM /bench before and after").isGreaterThanOrEqualTo(2);
    }

    @Test
    void errorRepliesAreCountedByName() throws IOException {
        fake = new FakeXenStored(dir.resolve("socket"), "ENOSPC");
        var config = new XenStoreBench.Config(fake.socket, List.of(1), 1, 0.1, 0.05, List.of("write"));
        BenchResult r = new XenStoreBench(config, new PrintStream(new ByteArrayOutputStream())).run().getFirst();

        assertThat(r.ops()).isZero();
        assertThat(r.errors()).isPositive();
        assertThat(r.errorKinds()).containsOnlyKeys("ENOSPC");
        assertThat(BenchResult.markdown(List.of(r))).contains("errors in write conns=1 pipeline=1: {ENOSPC=");
    }
}
