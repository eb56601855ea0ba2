package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jxen.bench.FakeXenStored;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jxen bench xenstore} against the bench's fake xenstored; no timing assertions, only what it prints and writes. */
class BenchCommandTest {
    @TempDir
    Path dir;

    private FakeXenStored fake;

    @AfterEach
    void stop() throws IOException {
        if (fake != null) fake.close();
    }

    @Test
    void commandPrintsTheTableAndWritesJsonLines() throws IOException {
        fake = new FakeXenStored(dir.resolve("socket"), null);
        Path json = dir.resolve("out.json");
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exit;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            exit = JxenCommand.commandLine().execute("bench", "xenstore", "--socket", fake.socket.toString(),
                    "--conns", "1", "--seconds", "0.1", "--warmup", "0.05", "--workloads", "read,echo-floor",
                    "--json", json.toString());
        } finally {
            System.setOut(stdout);
        }
        assertThat(exit).isZero();
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("| read | 1 | 1 |", "| echo-floor | 1 | 1 |");
        assertThat(Files.readAllLines(json)).hasSize(2).allSatisfy(l -> assertThat(l).startsWith("{\"workload\":"));
    }
}
