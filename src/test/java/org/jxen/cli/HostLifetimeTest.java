package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host's run directory and guests live and die with it (docs/host.md): a second {@code jxen host} on a run
 * directory in use exits 1 and leaves the first alone; a guest process outlives a SIGKILLed host by less than a
 * bounded wait, and takes its host's shared memory with it, even when the jar it runs from was rewritten under it; a
 * host started after a crash reaps what was left; a guest process is a small JVM.
 * Every host and guest here is a real process.
 */
@Timeout(240)
class HostLifetimeTest {
    private static final String GUEST_MAIN = "org.jxen.hypervisor.process.GuestMain";
    /** Bounded waits for processes to end: generous for a loaded 2-CPU machine, not timing assertions. */
    private static final long WAIT_MILLIS = 60_000;

    @TempDir
    Path dir;
    @TempDir
    Path logs;

    /** Every process this test started (hosts, guests found under them), killed after the test if still alive. */
    private final List<ProcessHandle> started = new ArrayList<>();

    /**
     * A running {@code jxen host}: its process and the file its output goes to. A file, not a pipe: the guests
     * inherit it, and Java closes a pipe it reads from a process once that process has exited, so a SIGKILLed
     * host's guests' last words would be lost.
     */
    private record Running(Process process, Path log) {
        List<String> output() {
            try {
                return Files.readAllLines(log);
            } catch (IOException e) {
                return List.of("(reading " + log + ": " + e + ")");
            }
        }

        /** What the host printed before its line starting with {@code last}. */
        List<String> before(String last) {
            List<String> all = output();
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i).startsWith(last)) return all.subList(0, i);
            }
            return all;
        }
    }

    @AfterEach
    void killLeftovers() {
        for (ProcessHandle p : started) p.destroyForcibly();
    }

    private List<String> hostCommand(String... extra) {
        return hostCommandOn(System.getProperty("java.class.path"), extra);
    }

    private List<String> hostCommandOn(String classPath, String... extra) {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", classPath,
                JxenCommand.class.getName(), "host", "--run-dir", dir.toString()));
        cmd.addAll(List.of(extra));
        return org.jxen.testing.OwnNetns.wrap(cmd); // its bridge xenbr0 in a namespace of its own
    }

    /** Starts {@code jxen host --run-dir <dir> <extra>} and waits for its line starting with {@code lastLine}. */
    private Running startHost(String lastLine, String... extra) throws Exception {
        return startHost(hostCommand(extra), lastLine);
    }

    private Running startHost(List<String> command, String lastLine) throws Exception {
        return startHost(command, lastLine, java.util.Map.of());
    }

    private Running startHost(List<String> command, String lastLine, java.util.Map<String, String> env) throws Exception {
        Path log = Files.createTempFile(logs, "host", ".log");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        started.add(p.toHandle());
        Running host = new Running(p, log);
        boolean up = waitFor(() -> !p.isAlive() || host.output().stream().anyMatch(l -> l.startsWith(lastLine)));
        if (!up || !p.isAlive()) {
            p.destroyForcibly();
            throw new AssertionError("no \"" + lastLine + "\" from the host; output: " + host.output());
        }
        return host;
    }

    /** The host's guest processes: its descendants running GuestMain. */
    private List<ProcessHandle> guestsOf(Process host) {
        List<ProcessHandle> guests = host.descendants()
                .filter(h -> Arrays.asList(h.info().arguments().orElse(new String[0])).contains(GUEST_MAIN)).toList();
        started.addAll(guests);
        return guests;
    }

    @Test
    void guestsOfASigkilledHostExitAndTakeItsSharedMemoryWithThem() throws Exception {
        Running host = startHost("jxen host: booted g1 as domain 1", "--guest", "g1");
        List<ProcessHandle> guests = guestsOf(host.process());
        assertThat(guests).as("g1's JVM").hasSize(1);
        long guestPid = guests.get(0).pid();
        assertThat(Files.readString(dir.resolve("hv/d1.pid")).strip()).as("the guest's pid file")
                .isEqualTo(Long.toString(guestPid));
        Path shm = dir.resolve("hv/shm").toRealPath();
        assertThat(shm.getParent()).isEqualTo(Path.of("/dev/shm"));
        assertThat(shm.resolve("d1.2.mem")).exists();

        host.process().destroyForcibly(); // SIGKILL: no shutdown hook runs
        assertThat(host.process().waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(host.process().exitValue()).isEqualTo(137);

        boolean guestGone = waitFor(() -> !guests.get(0).isAlive());
        assertThat(guestGone).as("guest process %d ended by itself; output: %s", guestPid, host.output()).isTrue();
        assertThat(waitFor(() -> !Files.exists(shm))).as("the dead host's tmpfs directory %s; output: %s", shm, host.output()).isTrue();
        assertThat(ProcessHandle.allProcesses().filter(this::namesRunDir).map(ProcessHandle::pid).toList())
                .as("processes naming %s", dir).isEmpty();
        assertThat(waitFor(() -> host.output().stream().anyMatch(l -> l.startsWith("d1: host gone (")))).as("output: %s",
                host.output()).isTrue();
        assertThat(host.output()).filteredOn(l -> l.startsWith("d1: host gone ("))
                .singleElement().asString().contains("guest process " + guestPid + " exits");
    }

    /**
     * The launcher rebuilds jxen.jar in place when the sources are newer, under guests that are running from it;
     * classes they had not loaded yet cannot be read any more. A guest's way out when its host dies must not need
     * one (it once did: the guest's watch threads died of NoClassDefFoundError and the guest ran on).
     */
    @Test
    void aGuestWhoseJarIsRewrittenUnderItStillDiesWithItsHost() throws Exception {
        Path jar = logs.resolve("jxen-copy.jar");
        String classPath = org.jxen.testing.ClassesJar.classPath(jar);
        assertThat(jar).as("a jar of the main classes").exists();
        Running host = startHost(hostCommandOn(classPath, "--guest", "g1"),
                "jxen host: booted g1 as domain 1");
        List<ProcessHandle> guests = guestsOf(host.process());
        assertThat(guests).hasSize(1);
        // The end of g1's boot (what xl create waits for): from here on it loads classes only when something happens.
        assertThat(waitFor(() -> "1".equals(readOrNull("/local/domain/1/control/feature-poweroff"))))
                .as("g1 booted").isTrue();
        // Stopped, the guest finds both at once when it goes on: its host gone and its jar rewritten.
        signal("STOP", guests.get(0).pid());
        host.process().destroyForcibly();
        assertThat(host.process().waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
        try (var out = Files.newOutputStream(jar, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            out.write("not a jar any more".getBytes(StandardCharsets.US_ASCII)); // the same file, rewritten
        }
        signal("CONT", guests.get(0).pid());
        assertThat(waitFor(() -> !guests.get(0).isAlive())).as("the guest ended; output: %s", host.output()).isTrue();
        assertThat(waitFor(() -> host.output().stream().anyMatch(l -> l.startsWith("d1: host gone (")))).as("output: %s",
                host.output()).isTrue();
    }

    /**
     * Guest JVMs of a host run from jars share one class-data archive of the classes a guest loads: the first
     * guest of a host with none in the cache records them, the archive is dumped once it has booted, and the
     * guests of the next host map it. An archive that is not one (a corrupt file) only means no sharing: the
     * guest boots, and nothing of the JVM's complaint reaches the host's output.
     */
    @Test
    void guestProcessesMapOneSharedClassArchiveMadeByTheFirstGuest() throws Exception {
        Path jar = logs.resolve("jxen-copy.jar");
        String classPath = org.jxen.testing.ClassesJar.classPath(jar);
        Path cache = logs.resolve("cache");
        java.util.Map<String, String> env = java.util.Map.of("XDG_CACHE_HOME", cache.toString());
        Running first = startHost(hostCommandOn(classPath, "--guest", "g1"), "jxen host: booted g1 as domain 1", env);
        assertThat(waitFor(() -> archives(cache.resolve("jxen")).size() == 1))
                .as("an archive in %s; host output: %s", cache, first.output()).isTrue();
        Path archive = archives(cache.resolve("jxen")).get(0);
        assertThat(archive.getFileName().toString()).matches("guest-[0-9a-f]{24}\\.jsa");
        assertThat(Files.size(archive)).as("archive bytes").isGreaterThan(1L << 20);
        stop(first);

        Running second = startHost(hostCommandOn(classPath, "--guest", "g2"), "jxen host: booted g2 as domain 1", env);
        List<ProcessHandle> guests = guestsOf(second.process());
        assertThat(guests).hasSize(1);
        assertThat(Files.readString(Path.of("/proc/" + guests.get(0).pid() + "/maps")))
                .as("the guest's mappings").contains(archive.toString());
        stop(second);

        byte[] junk = new byte[64 * 1024];
        new java.util.Random(7).nextBytes(junk);
        Files.write(archive, junk);
        Running third = startHost(hostCommandOn(classPath, "--guest", "g3"), "jxen host: booted g3 as domain 1", env);
        assertThat(waitFor(() -> "1".equals(readOrNull("/local/domain/1/control/feature-poweroff"))))
                .as("g3 booted; output: %s", third.output()).isTrue();
        assertThat(String.join("\n", third.output())).doesNotContain("[cds]").doesNotContain("shared archive");
        stop(third);
    }

    private static List<Path> archives(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".jsa")).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private void stop(Running host) throws InterruptedException {
        host.process().destroy();
        assertThat(host.process().waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).as("the host stopped").isTrue();
    }

    /**
     * A guest process's private memory is what decides how many fit on a machine: with the guest JVM's options
     * (HypervisorService.DEFAULT_GUEST_JVM_OPTIONS) an idle booted guest keeps it near 22 MB (50 MB before them).
     */
    @Test
    void aBootedGuestProcessKeepsLessThan32MbOfPrivateMemory() throws Exception {
        Running host = startHost("jxen host: booted g1 as domain 1", "--guest", "g1");
        List<ProcessHandle> guests = guestsOf(host.process());
        assertThat(guests).hasSize(1);
        long anonKb = Files.readAllLines(Path.of("/proc/" + guests.get(0).pid() + "/status")).stream()
                .filter(l -> l.startsWith("RssAnon:")).map(l -> l.replaceAll("[^0-9]", "")).mapToLong(Long::parseLong)
                .findFirst().orElseThrow();
        assertThat(anonKb).as("RssAnon of the guest process, KB").isBetween(1024L, 32L * 1024);
        host.process().destroy();
        assertThat(host.process().waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
    }

    @Test
    void aSecondHostOnARunDirectoryInUseExitsOneAndLeavesTheFirstAlone() throws Exception {
        Running first = startHost("jxen host: xenstored on ");
        List<String> paths = List.of("hv/hv.sock", "xenstored/socket", "toolstack.sock", "host.lock");
        List<Object> before = fileKeys(paths);
        Path shmTarget = Files.readSymbolicLink(dir.resolve("hv/shm"));

        Process second = new ProcessBuilder(hostCommand()).redirectErrorStream(true).start();
        started.add(second.toHandle());
        String output = new String(second.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(second.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(second.exitValue()).as("output: %s", output).isEqualTo(1);
        assertThat(output.lines().toList()).containsExactly(
                "jxen host: " + dir + " is in use by the jxen host with pid " + first.process().pid());
        assertThat(output).doesNotContain("Exception").doesNotContain("at org.");

        assertThat(fileKeys(paths)).as("the first host's sockets and lock file, same files").isEqualTo(before);
        assertThat(Files.readSymbolicLink(dir.resolve("hv/shm"))).isEqualTo(shmTarget);
        assertThat(Files.readString(dir.resolve("host.lock")).strip()).isEqualTo(Long.toString(first.process().pid()));
        assertThat(first.process().isAlive()).isTrue();
        try (XsClient xs = new XsClient(UnixSocketChannel.connect(dir.resolve("xenstored/socket")))) {
            assertThat(xs.readString("/local/domain/0/name")).isEqualTo("Domain-0");
        }
        XlResult list = XlResult.run(dir, "list");
        assertThat(list.code()).as("xl list through the first host: %s", list.err()).isZero();
        assertThat(list.out()).contains("Domain-0");

        first.process().destroy();
        assertThat(first.process().waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(first.process().exitValue()).as("output: %s", first.output()).isEqualTo(143);
    }

    /** The bridge a SIGKILLed host made (it never ran its shutdown hook) goes with the next host of the directory. */
    @Test
    void theBridgeACrashedHostMadeIsRemovedByTheNextHost() throws Exception {
        try (org.jxen.testing.OwnNetns.Shared ns = org.jxen.testing.OwnNetns.Shared.create("bridge")) {
            assertThat(ns).as("a network namespace (root)").isNotNull();
            List<String> plain = new ArrayList<>(hostCommand().subList(3, hostCommand().size())); // without unshare
            Running crashed = startHost(ns.wrap(plain), "jxen host: xenstored on ");
            assertThat(crashed.output()).contains("jxen host: created bridge xenbr0 (removed when the host stops)");
            assertThat(dir.resolve("bridge")).content().startsWith("xenbr0 ");
            assertThat(links(ns)).contains("xenbr0");
            crashed.process().destroyForcibly();
            assertThat(crashed.process().waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
            assertThat(links(ns)).as("a SIGKILLed host removes nothing").contains("xenbr0");

            List<String> noBridge = new ArrayList<>(plain);
            noBridge.addAll(List.of("--bridge", "none"));
            Running next = startHost(ns.wrap(noBridge), "jxen host: xenstored on ");
            try {
                assertThat(next.output()).contains("jxen host: removed bridge xenbr0 that the previous host created");
                assertThat(links(ns)).doesNotContain("xenbr0");
                assertThat(dir.resolve("bridge")).doesNotExist();
            } finally {
                next.process().destroy();
                assertThat(next.process().waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
            }
        }
    }

    /** The interfaces of namespace {@code ns}, by name. */
    private static List<String> links(org.jxen.testing.OwnNetns.Shared ns) throws Exception {
        Process p = new ProcessBuilder("ip", "-n", ns.name(), "-o", "link", "show").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        return out.lines().map(l -> l.split(":")[1].strip().split("@")[0]).toList();
    }

    @Test
    void aHostStartedAfterACrashReapsWhatTheCrashedOneLeft() throws Exception {
        Running crashed = startHost("jxen host: booted g1 as domain 1", "--guest", "g1");
        List<ProcessHandle> guests = guestsOf(crashed.process());
        assertThat(guests).hasSize(1);
        ProcessHandle guest = guests.get(0);
        Path shm = dir.resolve("hv/shm").toRealPath();
        // A guest that cannot notice its host's death (stopped), so that the new host finds it running.
        signal("STOP", guest.pid());
        crashed.process().destroyForcibly();
        assertThat(crashed.process().waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(guest.isAlive()).isTrue();
        assertThat(shm.resolve("d1.2.mem")).exists();
        for (String s : List.of("hv/hv.sock", "xenstored/socket", "toolstack.sock", "hv/d1.pid")) {
            assertThat(dir.resolve(s)).as("left by the crashed host").exists();
        }

        Running next = startHost("jxen host: xenstored on ");
        try {
            List<String> reaped = new ArrayList<>(next.before("jxen host: room for about "));
            // The tmpfs directory is the reaper's to remove, unless a hypervisor started meanwhile by anyone on this
            // machine swept it first (each new hypervisor deletes those whose owner is gone). 6 domain files (dom0's
            // and g1's memory, grant table, events), 7 if the guest was stopped while its hypercall page was linked.
            String shmLine = "jxen host: removed shared memory " + shm + " (";
            if (reaped.size() > 1 && reaped.get(1).startsWith(shmLine)) {
                assertThat(reaped.remove(1)).matches(Pattern.quote(shmLine) + "[67]"
                        + Pattern.quote(" files) of the previous host (pid " + crashed.process().pid() + ")"));
            }
            // The crashed host's xenstored ends by itself (its lifeline pipe and device socket close), or is killed.
            String daemonLine = reaped.size() > 2 ? reaped.remove(2) : "";
            assertThat(daemonLine).matches(Pattern.quote("jxen host: removed stale pid file " + dir.resolve("xenstored/pid"))
                    + "|jxen host: killed xenstored \\(pid [0-9]+\\) left running by the previous host");
            assertThat(reaped).containsExactly(
                    "jxen host: killed guest process " + guest.pid() + " (domain 1) left running by the previous host",
                    "jxen host: removed stale link " + dir.resolve("hv/shm") + " -> " + shm,
                    "jxen host: removed stale socket " + dir.resolve("hv/hv.sock"),
                    "jxen host: removed stale socket " + dir.resolve("xenstored/socket"),
                    "jxen host: removed stale socket " + dir.resolve("xenstored/dom0.sock"),
                    "jxen host: removed stale socket " + dir.resolve("toolstack.sock"));
            assertThat(guest.isAlive()).isFalse();
            assertThat(shm).doesNotExist();
            assertThat(dir.resolve("hv/d1.pid")).doesNotExist();
            assertThat(Files.readString(dir.resolve("host.lock")).strip()).isEqualTo(Long.toString(next.process().pid()));
            XlResult dmesg = XlResult.run(dir, "dmesg");
            assertThat(dmesg.code()).isZero();
            assertThat(dmesg.out()).contains("jxen host: killed guest process " + guest.pid() + " (domain 1)");
        } finally {
            next.process().destroy();
        }
        assertThat(next.process().waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(next.process().exitValue()).as("output: %s", next.output()).isEqualTo(143);
    }

    /** A node read through the host's xenstored, or null when it is missing or the store cannot be reached. */
    private String readOrNull(String path) {
        try (XsClient xs = new XsClient(UnixSocketChannel.connect(dir.resolve("xenstored/socket")))) {
            return xs.readOrNull(path);
        } catch (IOException e) {
            return null;
        }
    }

    private boolean namesRunDir(ProcessHandle p) {
        String socket = dir.resolve("hv/hv.sock").toAbsolutePath().toString();
        return Arrays.asList(p.info().arguments().orElse(new String[0])).contains(socket);
    }

    private List<Object> fileKeys(List<String> paths) throws IOException {
        List<Object> keys = new ArrayList<>();
        for (String s : paths) {
            keys.add(Files.readAttributes(dir.resolve(s), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey());
        }
        return keys;
    }

    private static void signal(String sig, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }

    /** Polls until the condition holds or the bounded wait is over; returns whether it holds. */
    private static boolean waitFor(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(50);
        }
        return true;
    }
}
