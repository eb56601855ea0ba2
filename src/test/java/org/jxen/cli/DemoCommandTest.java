package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code jxen demo}: the whole mydevice story, drawn and traced, ending in exit code 0 and a clean run dir. */
@Timeout(120)
class DemoCommandTest {
    @TempDir
    Path dir;

    @Test
    void demoDrawsTheHandshakeTheRingMessageAndTheClosedown() throws Exception {
        Path trace = dir.resolve("trace.jsonl");
        Path run = dir.resolve("run");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        int code;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            code = JxenCommand.commandLine().execute("demo", "--trace", trace.toString(), "--run-dir", run.toString());
        } finally {
            System.setOut(saved);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(code).as(out).isZero();
        assertThat(out).contains("Hotplug", "Backend (dom0)", "Frontend (dom1)")
                .contains("InitWait -------------------------->|")
                .contains("|<--------------------------Connected")
                .contains("Connected-------------------------->|")
                .contains("dom0: Connecting the", "dom1: Other side says it")
                .contains("\"Hello world\"")
                .contains("|<---------------------------Closed")
                .contains("[dom1] Goodbye world.", "[dom0] Goodbye world.");

        List<String> states = Files.readAllLines(trace).stream().filter(l -> l.contains("\"state\":\""))
                .map(l -> l.replaceAll(".*\"side\":\"(\\w+)\".*\"state\":\"(\\w+)\".*", "$1 $2")).toList();
        assertThat(states).containsSubsequence("frontend Initialising", "backend Initialising", "backend InitWait",
                "frontend Connected", "backend Connected", "backend Closing", "frontend Closed", "backend Closed");
        try (var left = Files.list(run.resolve("hv"))) {
            assertThat(left.map(p -> p.getFileName().toString()).toList())
                    .as("no domain file and no link to the shared-memory directory after the host stopped")
                    .noneMatch(n -> n.startsWith("d1.") || n.equals("shm"));
        }
    }
}
