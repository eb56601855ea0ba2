package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jxen host} as a real process, with one guest in its own JVM: tools reach the boot layout on
 * {@code <run-dir>/xenstored/socket}, and SIGTERM ends the host and its guest and removes its sockets and domain
 * files (docs/host.md), keeping only the console log.
 */
@Timeout(180)
class HostProcessTest {
    private static final Path DEBIAN_READ = Path.of("/usr/bin/xenstore-read");

    @TempDir
    Path dir;

    /** A running {@code jxen host}: its process and what it printed. */
    private record Running(Process process, BufferedReader out, List<String> output) {}

    /** Starts {@code jxen host --run-dir <dir> <extra>} and waits for its last start-up line. */
    private Running startHost(String lastLine, String... extra) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                JxenCommand.class.getName(), "host", "--run-dir", dir.toString()));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(org.jxen.testing.OwnNetns.wrap(cmd)).redirectErrorStream(true).start();
        Running host = new Running(p, new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)),
                new CopyOnWriteArrayList<>());
        try {
            for (String line; !(line = host.out().readLine()).startsWith(lastLine); ) host.output().add(line);
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            throw new AssertionError("no \"" + lastLine + "\" from the host; output: " + host.output(), e);
        }
        return host;
    }

    @Test
    void toolsSeeTheBootLayoutAndSigtermTearsTheHostAndItsGuestDown() throws Exception {
        Running host = startHost("jxen host: booted g1 as domain 1", "--guest", "g1");
        Process p = host.process();
        CompletableFuture<Void> eof;
        List<ProcessHandle> children;
        Path shm;
        try {
            // The guest inherited the host's output: the pipe ends once neither of them is left.
            // On a thread of its own: the common pool has one worker on a 2-CPU machine, and this read blocks.
            eof = CompletableFuture.runAsync(() -> drain(host.out(), host.output()),
                    task -> Thread.ofPlatform().daemon().name("host-output").start(task));
            children = p.descendants().toList();
            assertThat(children).as("the guest's JVM").isNotEmpty();
            shm = dir.resolve("hv/shm").toRealPath();
            assertThat(domainFiles(shm)).as("dom0's and the guest's memory, grant table and events")
                    .containsExactlyInAnyOrder("d0.1.mem", "d0.1.gnt", "d0.1.evt", "d1.2.mem", "d1.2.gnt", "d1.2.evt");
            assertThat(Files.exists(dir.resolve("xenstored/socket"))).isTrue();
            try (XsClient xs = new XsClient(UnixSocketChannel.connect(dir.resolve("xenstored/socket")))) {
                assertThat(xs.readString("/local/domain/0/name")).isEqualTo("Domain-0");
                assertThat(xs.readString("/local/domain/0/domid")).isEqualTo("0");
                assertThat(xs.exists("/tool")).isTrue();
                assertThat(xs.exists("/vm")).isTrue();
                assertThat(xs.readString("/local/domain/1/name")).isEqualTo("g1");
            }
        } catch (Throwable t) {
            p.destroyForcibly();
            throw t;
        }

        p.destroy(); // SIGTERM
        assertThat(p.waitFor()).as("killed by SIGTERM after its shutdown hook; output: %s", host.output())
                .isEqualTo(143);
        for (ProcessHandle child : children) {
            child.onExit().get(60, TimeUnit.SECONDS);
            assertThat(child.isAlive()).isFalse();
        }
        eof.get(60, TimeUnit.SECONDS);
        assertThat(shm).as("the domain files' tmpfs directory").doesNotExist();
        try (Stream<Path> left = Files.walk(dir)) {
            assertThat(left.filter(f -> !Files.isDirectory(f)).map(f -> dir.relativize(f).toString()).toList())
                    .as("no socket, no shm link, no pid file, no xenstored state; xenconsoled's and xenstored's logs "
                            + "and the run directory's lock file are kept")
                    .containsExactlyInAnyOrder("console/guest-g1.log", "xenstored/log", "host.lock");
        }
    }

    @Test
    void debiansToolsReadTheBootLayoutFromTheHostsSocket() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(DEBIAN_READ), "Debian's xenstore-utils are not installed");
        Running host = startHost("jxen host: xenstored on ");
        Path socket = dir.resolve("xenstored/socket");
        try {
            assertThat(debian(socket, "xenstore-read", "/local/domain/0/name", "/local/domain/0/domid"))
                    .isEqualTo("Domain-0\n0\n");
            assertThat(debian(socket, "xenstore-ls", "-f", "/").lines().toList())
                    .contains("/tool = \"\"", "/vm = \"\"", "/local/domain/0/name = \"Domain-0\"",
                            "/local/domain/0/domid = \"0\"");
        } finally {
            host.process().destroy();
        }
        assertThat(host.process().waitFor()).isEqualTo(143);
        assertThat(Files.exists(socket)).isFalse();
    }

    private String debian(Path socket, String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("XENSTORED_PATH", socket.toString());
        Path out = Files.createTempFile(dir, "tool", ".out");
        pb.redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process t = pb.start();
        assertThat(t.waitFor(60, TimeUnit.SECONDS)).as("%s finished", cmd[0]).isTrue();
        assertThat(t.exitValue()).as("%s status", cmd[0]).isZero();
        String text = Files.readString(out);
        Files.delete(out);
        return text;
    }

    private static List<String> domainFiles(Path shm) throws IOException {
        try (Stream<Path> s = Files.list(shm)) {
            return s.map(f -> f.getFileName().toString()).toList();
        }
    }

    private static void drain(BufferedReader out, List<String> into) {
        try {
            for (String line; (line = out.readLine()) != null; ) into.add(line);
        } catch (IOException e) {
            into.add("(reading the host's output: " + e + ")");
        }
    }
}
