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

    private static String nanos(String traceLine) {
        return traceLine.replaceAll(".*\"nanos\":(\\d+).*", "$1");
    }

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
                .contains("dom0: Connecting the", "dom1: Other side")
                .contains("\"Hello world\"")
                .contains("|<---------------------------Closed")
                .contains("[dom1] Goodbye world.", "[dom0] Goodbye world.");

        // Who writes what: the toolstack's writes in a column of their own, the disk's block script in the
        // hotplug column, and the kernels' in theirs.
        assertThat(out).contains("Toolstack", "xl/libxl")
                .containsPattern("(?m)^ {2,8}fe/backend-id=0 +\\| +\\|$")
                .containsPattern("(?m)^ {2,8}be/frontend-id=1 +\\| +\\|$")
                .contains("xl block-attach 1 'format=raw, vdev=xvda, access=rw, target=")
                .containsPattern("(?m)^ {20,40}run block add +\\|")
                .contains("The disk is Connected (the guest has /dev/xvda). Now xl block-detach 1 xvda:")
                .containsPattern("(?m)^ {20,40}run block remove +\\|");
        List<String> events = Files.readAllLines(trace);
        // Every event shown is traced, the kernel lines and the script's start too, in the order shown.
        assertThat(events).anyMatch(l -> l.equals("{\"kind\":\"kernel\",\"nanos\":" + nanos(l)
                + ",\"domain\":\"dom0\",\"line\":\"Connecting the backend now.\"}"));
        assertThat(events).anyMatch(l -> l.contains("\"kind\":\"kernel\"") && l.contains("\"domain\":\"dom1\",\"line\":\"Hello World!\""));
        List<String> disk = events.stream().filter(l -> l.contains("vbd") || l.contains("\"by\":\"hotplug\"")
                || l.contains("\"key\":\"state\"") && l.contains("\"by\":\"backend\"")).map(l -> l.replaceAll("\"nanos\":\\d+,", "")
                .replaceAll("^\\{\"seq\":\\d+,", "{")).toList();
        assertThat(disk).containsSubsequence(
                "{\"kind\":\"hotplug\",\"script\":\"block add\",\"path\":\"/local/domain/0/backend/vbd/1/51712\"}",
                "{\"side\":\"backend\",\"by\":\"hotplug\",\"key\":\"physical-device-path\",\"value\":\"" + run.resolve("disk.img") + "\"}",
                "{\"side\":\"backend\",\"by\":\"hotplug\",\"key\":\"hotplug-status\",\"value\":\"connected\"}",
                "{\"side\":\"backend\",\"by\":\"backend\",\"key\":\"state\",\"value\":\"4\",\"state\":\"Connected\"}",
                "{\"kind\":\"hotplug\",\"script\":\"block remove\",\"path\":\"/local/domain/0/backend/vbd/1/51712\"}");
        assertThat(events).anyMatch(l -> l.contains("\"side\":\"frontend\",\"by\":\"toolstack\",\"key\":\"backend-id\",\"value\":\"0\""));
        assertThat(events.stream().filter(l -> l.contains("\"key\":\"physical-device\",\"value\":\""))).singleElement()
                .satisfies(l -> assertThat(l).contains("\"by\":\"hotplug\""));

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
