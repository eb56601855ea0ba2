package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.bench.FakeXenStored;
import org.jxen.bench.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A long bench tells its user what runs and how long is left: {@code jxen bench xenstore} as its own process,
 * against the fake xenstored. stderr has the plan (runs, total), one line per run with the time left (the
 * windows still to come, this one's included), and the time it took against the announced total; stdout only
 * the table. No timing is asserted: the times printed are the plan's.
 */
@Timeout(120)
class BenchProgressTest {
    @TempDir
    Path dir;

    @Test
    void benchXenstorePrintsItsPlanEachRunAndTheTimeLeftOnStderr() throws Exception {
        try (FakeXenStored fake = new FakeXenStored(dir.resolve("socket"), null)) {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                    JxenCommand.class.getName(), "bench", "xenstore", "--socket", fake.socket.toString(), "--conns", "1,2",
                    "--seconds", "0.2", "--warmup", "0.05", "--workloads", "write,watch,echo-floor").start();
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> {
                try {
                    return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (java.io.IOException e) {
                    return e.toString();
                }
            }, task -> Thread.ofPlatform().daemon().start(task));
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            List<String> lines = err.get(10, TimeUnit.SECONDS).lines().toList();
            assertThat(lines).hasSize(6);
            assertThat(lines.subList(0, 5)).containsExactly(
                    "bench xenstore: 4 runs, 1 s in all (each window 0.05 s warm-up + 0.2 s measured)",
                    "bench xenstore: [1/4] write conns=1 pipeline=1, 1 s left",
                    "bench xenstore: [2/4] write conns=2 pipeline=1, 0.75 s left",
                    "bench xenstore: [3/4] watch conns=1 pipeline=1, 0.5 s left",
                    "bench xenstore: [4/4] echo-floor conns=1 pipeline=1, 0.25 s left");
            assertThat(lines.get(5)).matches("bench xenstore: done in ([0-9.]+ s|\\d+m \\d\\ds) \\(announced 1 s\\)");
            assertThat(out).contains("| write | 1 | 1 |", "| write | 2 | 1 |", "| watch | 1 | 1 |", "| echo-floor | 1 | 1 |")
                    .doesNotContain("bench xenstore:");
        }
    }

    @Test
    void durationsReadAsAPersonWritesThem() {
        assertThat(Progress.duration(0.25)).isEqualTo("0.25 s");
        assertThat(Progress.duration(42)).isEqualTo("42 s");
        assertThat(Progress.duration(185)).isEqualTo("3m 05s");
        assertThat(Progress.duration(3723)).isEqualTo("1h 02m 03s");
    }
}
