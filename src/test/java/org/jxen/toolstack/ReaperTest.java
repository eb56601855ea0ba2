package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a crashed host left in a run directory, planted by hand, and what {@link Reaper} removes of it: only the
 * live process whose command line names this run directory's hypervisor socket is killed (a pid file naming any
 * other process, here this test's own JVM, is only deleted); the dead owner's tmpfs directory, the link, domain
 * files in {@code hv/}, the sockets; one line each. A clean directory gives no line. The rest (a real crashed
 * host, a real leftover guest) is {@code org.jxen.cli.HostLifetimeTest}'s.
 */
@Timeout(120)
class ReaperTest {
    @TempDir
    Path dir;
    private Process leftover;
    private Path shm;

    /** Stands in for a guest JVM: its command line names the socket, and it runs until killed. */
    public static final class Leftover {
        public static void main(String[] args) throws InterruptedException {
            Thread.sleep(TimeUnit.MINUTES.toMillis(10));
        }
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (leftover != null) leftover.destroyForcibly();
        if (shm != null && Files.isDirectory(shm)) {
            try (var files = Files.list(shm)) {
                for (Path f : files.toList()) Files.delete(f);
            }
            Files.delete(shm);
        }
    }

    @Test
    void removesWhatACrashedHostLeftAndKillsOnlyItsOwnGuests() throws Exception {
        Path hv = Files.createDirectories(dir.resolve("hv"));
        Files.createDirectories(dir.resolve("xenstored"));
        Path socket = hv.resolve("hv.sock").toAbsolutePath();
        leftover = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"), Leftover.class.getName(), socket.toString(), "5")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        Process dead = new ProcessBuilder("true").start();
        assertThat(dead.waitFor(60, TimeUnit.SECONDS)).isTrue();
        long deadPid = dead.pid();
        long deadStart = dead.info().startInstant().map(i -> i.toEpochMilli()).orElse(1L);

        Files.writeString(hv.resolve("d3.pid"), deadPid + "\n");
        Files.writeString(hv.resolve("d4.pid"), ProcessHandle.current().pid() + "\n");
        Files.writeString(hv.resolve("d5.pid"), leftover.pid() + "\n");
        Files.writeString(hv.resolve("d9.1.mem"), "x");
        Files.writeString(dir.resolve("xenstored/pid"), deadPid + "\n");
        for (String s : List.of("hv/hv.sock", "xenstored/socket", "xenstored/dom0.sock", "toolstack.sock")) Files.createFile(dir.resolve(s));
        shm = Files.createDirectory(Path.of("/dev/shm/jxen-" + deadPid + "-" + deadStart + "-reapertest"));
        for (String f : List.of("d0.1.mem", "d0.1.gnt", "d0.1.evt")) Files.writeString(shm.resolve(f), "x");
        Files.createSymbolicLink(hv.resolve("shm"), shm);

        List<String> lines = Reaper.reap(dir);

        assertThat(lines).containsExactly(
                "removed stale pid file " + hv.resolve("d3.pid"),
                "removed stale pid file " + hv.resolve("d4.pid"),
                "killed guest process " + leftover.pid() + " (domain 5) left running by the previous host",
                "removed shared memory " + shm + " (3 files) of the previous host (pid " + deadPid + ")",
                "removed stale link " + hv.resolve("shm") + " -> " + shm,
                "removed 1 domain file from " + hv,
                "removed stale pid file " + dir.resolve("xenstored/pid"),
                "removed stale socket " + dir.resolve("hv/hv.sock"),
                "removed stale socket " + dir.resolve("xenstored/socket"),
                "removed stale socket " + dir.resolve("xenstored/dom0.sock"),
                "removed stale socket " + dir.resolve("toolstack.sock"));
        assertThat(leftover.isAlive()).isFalse();
        assertThat(ProcessHandle.current().isAlive()).isTrue();
        assertThat(shm).doesNotExist();
        try (var left = Files.walk(dir)) {
            assertThat(left.filter(f -> !Files.isDirectory(f)).toList()).isEmpty();
        }
        assertThat(Reaper.reap(dir)).as("nothing left to reap").isEmpty();
    }
}
