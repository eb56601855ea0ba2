package org.jxen.system.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jxen.cli.XlResult;
import org.jxen.drivers.mydevice.SeqWrite;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.HypercallException;
import org.jxen.toolstack.ConsoleLog;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.migration.MigrationListener;
import org.jxen.toolstack.migration.MigrationRequests;
import org.jxen.toolstack.migration.SaveReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two real hosts (each with its hypervisor, xenstored, dom0 backends and a migration listener on loopback) whose
 * guests run in their own processes, driven with xl as a user would; a guest that writes numbered blocks to its
 * disk (seqwrite) and greets over mydevice; and the checks every move must pass.
 */
abstract class MigrationFixture {
    static final Duration WAIT = Duration.ofSeconds(90);
    static final String VBD = "51712";

    @TempDir
    Path dir;
    Path run1;
    Path run2;
    Host host1;
    Host host2;
    MigrationListener listener1;
    MigrationListener listener2;
    Path disk;

    @BeforeEach
    void startHosts() throws Exception {
        run1 = dir.resolve("h1");
        run2 = dir.resolve("h2");
        host1 = Host.start(run1, false);
        MigrationRequests.install(host1);
        listener1 = MigrationListener.start(host1, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        host2 = Host.start(run2, false);
        MigrationRequests.install(host2);
        listener2 = MigrationListener.start(host2, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        // In a directory of its own: a host in another mount namespace can be made not to see it.
        disk = Files.createDirectories(dir.resolve("disks")).resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(64L << 20);
        }
    }

    @AfterEach
    void stopHosts() {
        for (AutoCloseable c : new AutoCloseable[] {listener1, listener2, host1, host2}) {
            try {
                if (c != null) c.close();
            } catch (Exception e) {
                // the other one still closes
            }
        }
    }

    static XlResult xl(Path run, String... args) {
        return XlResult.run(run, args);
    }

    /** An xl.cfg for guest NAME with the shared disk and a mydevice, its frontend loaded at boot. */
    Path config(String name) throws IOException {
        Path cfg = dir.resolve(name + ".cfg");
        Files.writeString(cfg, "name = \"" + name + "\"\nmemory = 32\n"
                + "disk = ['format=raw, vdev=xvda, access=rw, target=" + disk + "']\n"
                + "mydevice = ['0']\ndrivers = ['mydevicefront']\n");
        return cfg;
    }

    /** Creates the guest on host 1, starts its workload and waits for its first blocks. */
    int createWriter(String name) throws Exception {
        XlResult c = xl(run1, "create", config(name).toString());
        assertThat(c.code()).as(c.err()).isZero();
        XlResult w = xl(run1, "exec", name, "--", "insmod", "seqwrite", "greet=8", "pause_ms=2");
        assertThat(w.code()).as(w.err()).isZero();
        int domid = domid(host1, name);
        awaitConnected(host1, domid);
        long now = blocks();
        await().atMost(WAIT).until(() -> blocks() > now + 20);
        return domid;
    }

    static int domid(Host h, String name) {
        return h.guests().stream().filter(g -> g.name().equals(name)).mapToInt(Host.Guest::domid).findFirst()
                .orElseThrow(() -> new AssertionError(name + " is not on " + h.runDir()));
    }

    static String read(Host h, String path) {
        try {
            return h.xenstore().readOrNull(path);
        } catch (IOException e) {
            return null;
        }
    }

    /** Both devices Connected (4) at both ends, and mydevice's greeting answered on this host's console log. */
    static void awaitConnected(Host h, int domid) {
        String fe = "/local/domain/" + domid + "/device/";
        String be = "/local/domain/0/backend/";
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(read(h, fe + "vbd/" + VBD + "/state")).isEqualTo("4");
            assertThat(read(h, be + "vbd/" + domid + "/" + VBD + "/state")).isEqualTo("4");
            assertThat(read(h, fe + "mydevice/0/state")).isEqualTo("4");
            assertThat(read(h, be + "mydevice/" + domid + "/0/state")).isEqualTo("4");
            ConsoleLog log = h.consoleLog(domid);
            assertThat(log).isNotNull();
            assertThat(log.lines()).contains("Backend says: Hello world");
        });
    }

    /** The guest runs on {@code h} and writes on: connected, and new blocks after this call. */
    void awaitRunningAndWriting(Host h, int domid) throws IOException {
        awaitConnected(h, domid);
        long now = blocks();
        await().atMost(WAIT).until(() -> blocks() > now + 10);
    }

    /** Nothing of domain {@code domid} is left on {@code h}: no domain, store nodes, backends, files. */
    static void assertGone(Host h, int domid, String name) throws Exception {
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(h.guests()).extracting(Host.Guest::name).doesNotContain(name);
            List<Integer> ids = new ArrayList<>();
            for (DomainInfo i : h.domains()) ids.add(i.domid());
            assertThat(ids).doesNotContain(domid);
            assertThat(read(h, "/local/domain/" + domid + "/name")).isNull();
            assertThat(h.xenstore().exists("/local/domain/" + domid)).isFalse();
            assertThat(h.xenstore().exists("/local/domain/0/backend/vbd/" + domid)).isFalse();
            assertThat(h.xenstore().exists("/local/domain/0/backend/mydevice/" + domid)).isFalse();
            try (Stream<Path> files = Files.list(h.runDir().resolve("hv/shm"))) {
                assertThat(files.map(p -> p.getFileName().toString())).noneMatch(f -> f.startsWith("d" + domid + "."));
            }
            assertThat(h.runDir().resolve("hv/d" + domid + ".pid")).doesNotExist();
        });
    }

    /** How many numbered blocks the disk holds from sector 0 on without a gap. */
    long blocks() throws IOException {
        byte[] all = Files.readAllBytes(disk);
        long n = 0;
        while ((n + 1) * SeqWrite.BLOCK <= all.length && SeqWrite.number(all, (int) (n * SeqWrite.BLOCK)) == n) n++;
        return n;
    }

    /**
     * Stops the workload and checks the disk: the blocks it says were acknowledged are there, each exactly once
     * (block n at sector n, no other sector claiming a number), without a gap, and nothing past them.
     */
    void stopAndCheckDisk(Host h, String name) throws Exception {
        int domid = domid(h, name);
        XlResult r = xl(h.runDir(), "exec", name, "--", "rmmod", "seqwrite");
        assertThat(r.code()).as(r.err()).isZero();
        String prefix = "seqwrite: stopped after ";
        await().atMost(WAIT).until(() -> h.consoleLog(domid).lines().stream().anyMatch(l -> l.startsWith(prefix)));
        String line = h.consoleLog(domid).lines().stream().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow();
        long acked = Long.parseLong(line.substring(prefix.length()).split(" ")[0]);
        byte[] all = Files.readAllBytes(disk);
        long found = 0;
        for (int s = 0; (s + 1) * SeqWrite.BLOCK <= all.length; s++) {
            long n = SeqWrite.number(all, s * SeqWrite.BLOCK);
            if (n < 0) continue;
            assertThat(n).as("block at sector " + s).isEqualTo(s);
            found++;
        }
        assertThat(acked).isPositive();
        assertThat(found).as("blocks on the disk (acknowledged: " + acked + ")").isEqualTo(acked);
        assertThat(blocks()).isEqualTo(acked);
    }

    // ---- a guest utility (xl exec's dd) that is running when the guest moves ----

    static final int DD_RECORDS = 32768;
    static final long DD_SEEK = 65536;
    private byte[] ddSource;

    /**
     * Guest {@code name} on host 1 copying the first 16 MiB of its disk (random bytes) to 32 MiB further on with
     * {@code xl exec NAME -- dd}, one 512-byte record at a time, each write acknowledged before the next; the guest
     * is paused part way (a paused domain's command stops at its next hypercall), the copied part of the source
     * overwritten (a dd that started again from zero would copy those new bytes), then {@code move} runs: it
     * starts a save or migration and unpauses the guest once the suspend request is in the store, so that dd is
     * still copying when the guest freezes. Returns the source's xl exec (it ends when the domain goes) and what
     * {@code move} did.
     */
    DdRun ddWhile(String name, java.util.concurrent.Callable<java.util.concurrent.CompletableFuture<XlResult>> move)
            throws Exception {
        ddSource = new byte[DD_RECORDS * 512];
        new java.util.Random(16).nextBytes(ddSource);
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.write(ddSource);
        }
        XlResult c = xl(run1, "create", config(name).toString());
        assertThat(c.code()).as(c.err()).isZero();
        int domid = domid(host1, name);
        awaitConnected(host1, domid);
        var dd = java.util.concurrent.CompletableFuture.supplyAsync(() -> xl(run1, "exec", name, "--", "dd", "if=/dev/xvda",
                "of=/dev/xvda", "bs=512", "count=" + DD_RECORDS, "seek=" + DD_SEEK), r -> Thread.ofPlatform().daemon().start(r));
        await().atMost(WAIT).until(() -> ddCopied() >= 8);
        host1.pause(domid);
        long copied = ddCopied();
        assertThat(copied).as("dd is part way when paused").isLessThan(DD_RECORDS);
        // Records dd has read already (all but the one that may be in flight): a resumed dd never reads them again.
        return new DdRun(dd, overwriteThenMove(domid, (copied - 1) * 512, move), domid);
    }

    /**
     * Overwrites the first {@code bytes} of the disk while the domain is paused (what its command has read already:
     * a command that started again would read the new bytes), runs {@code move}, lets the domain run again once the
     * move asked it to suspend (or ended), and returns the move's result.
     */
    private XlResult overwriteThenMove(int domid, long bytes,
            java.util.concurrent.Callable<java.util.concurrent.CompletableFuture<XlResult>> move) throws Exception {
        byte[] changed = new byte[(int) bytes];
        java.util.Arrays.fill(changed, (byte) 0xEE);
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.write(changed);
        }
        var moved = move.call();
        await().atMost(WAIT).until(() -> "suspend".equals(read(host1, "/local/domain/" + domid + "/control/shutdown"))
                || moved.isDone());
        host1.unpause(domid);
        return moved.get(5, java.util.concurrent.TimeUnit.MINUTES);
    }

    record DdRun(java.util.concurrent.CompletableFuture<XlResult> exec, XlResult move, int domid) {}

    /** The guest moved: nothing is left at the source; dd went on at {@code h} (see {@link #assertDdFinished}). */
    void assertDdMovedTo(Host h, String name, DdRun run) throws Exception {
        assertThat(run.move().code()).as(run.move().err()).isZero();
        assertGone(host1, run.domid(), name);
        assertDdFinished(h, name, run.exec(), "xl exec: domain " + name + " migrated to " + h.runDir() + "; dd continues there"
                + " as data/exec/0, following it");
    }

    /** The move failed and the guest runs on at the source: dd went on there and its status reached xl exec. */
    void assertDdFinishedAtTheSource(DdRun run) throws Exception {
        XlResult r = run.exec().get(5, java.util.concurrent.TimeUnit.MINUTES);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).startsWith(DD_RECORDS + "+0 records in\n" + DD_RECORDS + "+0 records out\n");
        assertThat(ddCopied()).isEqualTo(DD_RECORDS);
    }

    /** Records of dd's copy on the disk, from its start without a gap. */
    long ddCopied() throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "r")) {
            byte[] dst = new byte[DD_RECORDS * 512];
            f.seek(DD_SEEK * 512);
            f.readFully(dst);
            long n = 0;
            while (n < DD_RECORDS && java.util.Arrays.equals(dst, (int) n * 512, (int) (n + 1) * 512, ddSource,
                    (int) n * 512, (int) (n + 1) * 512)) n++;
            return n;
        }
    }

    /**
     * dd went on in the guest's new copy on {@code h} from where it stopped, under data/exec/0 of its new home: its
     * copy is exactly the source as it was (none of the bytes written after it read them), nothing after it; its
     * counts and its exit in the guest's log. The source's xl exec said where it went ({@code departure}, its one
     * line): after a save or a migration to ADDRESS:PORT it ended with 75 and the result is in the store there;
     * after a migration to a run directory it followed dd there, printed dd's counts and ended with dd's status.
     */
    void assertDdFinished(Host h, String name, java.util.concurrent.CompletableFuture<XlResult> sourceExec, String departure)
            throws Exception {
        int domid = domid(h, name);
        String exec = "/local/domain/" + domid + "/data/exec/0";
        String counts = DD_RECORDS + "+0 records in\n" + DD_RECORDS + "+0 records out\n" + DD_RECORDS * 512 + " bytes copied";
        XlResult source = sourceExec.get(3, java.util.concurrent.TimeUnit.MINUTES);
        if (departure.endsWith(", following it")) {
            assertThat(source.code()).as(source.err()).isZero();
            assertThat(source.err()).startsWith(departure + "\n" + counts);
            // The follower read the result and removed the command's node, as xl exec does.
            await().atMost(WAIT).until(() -> read(h, exec + "/cmd") == null);
        } else {
            assertThat(source.code()).as(source.err()).isEqualTo(75);
            assertThat(source.err().strip()).isEqualTo(departure);
            await().atMost(WAIT).until(() -> read(h, exec + "/status") != null);
            assertThat(read(h, exec + "/status")).isEqualTo("0");
            assertThat(read(h, exec + "/cmd")).isEqualTo("dd\nif=/dev/xvda\nof=/dev/xvda\nbs=512\ncount=" + DD_RECORDS + "\nseek=" + DD_SEEK);
            assertThat(read(h, exec + "/error/0")).startsWith(counts);
        }
        assertThat(h.consoleLog(domid).lines()).anyMatch(l -> l.startsWith("exec: command 0 (dd if=/dev/xvda")
                && l.endsWith(") resumes where it stopped, as data/exec/0")).contains("exec: command 0 (dd) exited with status 0");
        assertThat(ddCopied()).isEqualTo(DD_RECORDS);
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "r")) {
            byte[] after = new byte[512];
            f.seek((DD_SEEK + DD_RECORDS) * 512);
            f.readFully(after);
            assertThat(after).as("nothing past the copy").containsOnly(0);
        }
    }

    // ---- sha256sum and blkbench (xl exec) running when the guest moves ----

    /** The disk for sha256sum: 16 MiB of random bytes, then zeros up to 1 GiB (sparse): long enough to be caught. */
    static final long SHA_DISK = 1L << 30;
    private static final int SHA_RANDOM = 16 << 20;

    /** What a sha256sum over the disk started before a move saw of it, and the real digest of the input. */
    record ShaRun(java.util.concurrent.CompletableFuture<XlResult> exec, XlResult move, int domid, String digest) {}

    /**
     * Guest {@code name} on host 1 hashing its 1 GiB disk with {@code xl exec NAME -- sha256sum /dev/xvda}; once its
     * {@code /proc/0/io} says it hashed 4 MiB or more the guest is paused, the part it hashed (by that count)
     * overwritten (a sha256sum that started again would hash those new bytes), then {@code move} runs and the guest
     * is unpaused once the suspend request is in the store, as {@link #ddWhile} does.
     */
    ShaRun sha256While(String name, java.util.concurrent.Callable<java.util.concurrent.CompletableFuture<XlResult>> move)
            throws Exception {
        byte[] random = new byte[SHA_RANDOM];
        new java.util.Random(256).nextBytes(random);
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(SHA_DISK);
            f.write(random);
        }
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        md.update(random);
        byte[] zeros = new byte[1 << 20];
        for (long n = SHA_RANDOM; n < SHA_DISK; n += zeros.length) md.update(zeros);
        String digest = java.util.HexFormat.of().formatHex(md.digest());

        XlResult c = xl(run1, "create", config(name).toString());
        assertThat(c.code()).as(c.err()).isZero();
        int domid = domid(host1, name);
        awaitConnected(host1, domid);
        var sha = java.util.concurrent.CompletableFuture.supplyAsync(() -> xl(run1, "exec", name, "--", "sha256sum", "/dev/xvda"),
                r -> Thread.ofPlatform().daemon().start(r));
        long[] hashed = {0};
        await().atMost(WAIT).untilAsserted(() -> assertThat(hashed[0] = rchar(run1, name, 0))
                .as(() -> "sha256sum's rchar; its status " + read(host1, "/local/domain/" + domid + "/data/exec/0/status")
                        + ", the guest's log: " + host1.consoleLog(domid).lines())
                .isGreaterThanOrEqualTo(4 << 20));
        host1.pause(domid);
        assertThat(read(host1, "/local/domain/" + domid + "/data/exec/0/status")).as("sha256sum still running").isNull();
        assertThat(hashed[0]).isLessThan(SHA_DISK);
        return new ShaRun(sha, overwriteThenMove(domid, Math.min(hashed[0], SHA_RANDOM), move), domid, digest);
    }

    /** The bytes command {@code n} of guest {@code name} has read, from its {@code /proc/<n>/io}; -1 if it has none. */
    static long rchar(Path run, String name, int n) {
        XlResult r = xl(run, "exec", name, "--", "cat", "/proc/" + n + "/io");
        if (r.code() != 0) return -1;
        for (String l : r.out().split("\n")) if (l.startsWith("rchar: ")) return Long.parseLong(l.substring(7).strip());
        return -1;
    }

    /** The restored copy on {@code h} logged that sha256sum (number 0) resumed where it stopped, and its exit 0. */
    static void assertResumedInLog(Host h, int domid, String program) {
        await().atMost(WAIT).untilAsserted(() -> assertThat(h.consoleLog(domid).lines())
                .anyMatch(l -> l.startsWith("exec: command 0 (" + program + " ") && l.endsWith(") resumes where it stopped, as data/exec/0"))
                .contains("exec: command 0 (" + program + ") exited with status 0"));
    }

    static boolean running(Host h, int domid) {
        try {
            return h.dom0().domainControl().info(domid).state() == org.jxen.hypervisor.DomainState.RUNNING;
        } catch (HypercallException e) {
            return false;
        }
    }
}
