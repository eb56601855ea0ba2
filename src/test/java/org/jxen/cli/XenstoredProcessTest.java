package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code jxen xenstored} as a real process: serves its socket, traces, and removes the socket on SIGTERM. */
@Timeout(60)
class XenstoredProcessTest {
    @TempDir
    Path dir;

    @Test
    void sigtermRemovesTheSocketAndTheTraceHasEveryMessage() throws Exception {
        Path socket = dir.resolve("socket");
        Path trace = dir.resolve("trace");
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), JxenCommand.class.getName(), "xenstored",
                "--socket", socket.toString(), "--trace", trace.toString()).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("jxen xenstored: listening on " + socket);

        try (XsClient xs = new XsClient(UnixSocketChannel.connect(socket))) {
            xs.write("/a", "1");
            assertThat(xs.readString("/a")).isEqualTo("1");
        }
        p.destroy(); // SIGTERM
        assertThat(p.waitFor()).isEqualTo(143);
        assertThat(Files.exists(socket)).isFalse();

        List<String> lines = Files.readAllLines(trace);
        assertThat(lines).anyMatch(l -> l.contains(" IN    socket#") && l.endsWith("WRITE req=1 tx=0 \"/a|1\""));
        assertThat(lines).anyMatch(l -> l.contains(" OUT   socket#") && l.endsWith("WRITE req=1 tx=0 \"OK|\""));
        assertThat(lines).anyMatch(l -> l.endsWith("READ req=2 tx=0 \"1\""));
    }
}
