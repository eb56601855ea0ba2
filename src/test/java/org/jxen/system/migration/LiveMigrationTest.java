package org.jxen.system.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.cli.JxenCommand;
import org.jxen.cli.XlResult;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.migration.MigrationListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * xl migrate between two hosts: ten live moves back and forth with the guest writing numbered blocks and
 * greeting over mydevice; and every way a migration can fail, each ending with the guest running in exactly one
 * place (or, when its source host dies, nowhere).
 */
@Timeout(600)
class LiveMigrationTest extends MigrationFixture {
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void killProcesses() throws Exception {
        for (Process p : processes) {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) p.destroyForcibly();
        }
        // A host killed with SIGKILL and no guest process left to do it: its tmpfs directory goes here, as the
        // next host of its run directory would reap it.
        Path shm = dir.resolve("h3/hv/shm");
        if (Files.isSymbolicLink(shm)) org.jxen.hypervisor.Hypervisor.deleteOrphanedSharedMemory(Files.readSymbolicLink(shm));
    }

    @Test
    void tenLiveMigrationsBackAndForthLoseNoWriteAndLeaveNothingBehind() throws Exception {
        int domid = createWriter("g");
        Host from = host1;
        Host to = host2;
        for (int move = 1; move <= 10; move++) {
            XlResult m = xl(from.runDir(), "migrate", "--live", "g", to.runDir().toString());
            assertThat(m.code()).as("move " + move + ": " + m.err()).isZero();
            assertThat(m.err()).contains("round 1: ").contains("stop-and-copy: ").contains("Migration successful");
            assertGone(from, domid, "g");
            domid = domid(to, "g");
            awaitRunningAndWriting(to, domid);
            Host t = from;
            from = to;
            to = t;
        }
        // Once more without --live, to ADDRESS:PORT.
        XlResult m = xl(from.runDir(), "migrate", "g", "127.0.0.1:" + (to == host1 ? listener1 : listener2).port());
        assertThat(m.code()).as(m.err()).isZero();
        assertGone(from, domid, "g");
        awaitRunningAndWriting(to, domid(to, "g"));
        stopAndCheckDisk(to, "g");
    }

    @Test
    void aDdRunningAtTheMigrationGoesOnAtTheTargetFromWhereItStopped() throws Exception {
        DdRun dd = ddWhile("dd", () -> CompletableFuture.supplyAsync(() -> xl(run1, "migrate", "--live", "dd", run2.toString()),
                r -> Thread.ofPlatform().daemon().start(r)));
        assertDdMovedTo(host2, "dd", dd);
    }

    @Test
    void aSha256sumRunningAtALiveMigrationGoesOnAtTheTargetAndXlExecFollowsItThereToTheDigestOfTheWholeInput() throws Exception {
        ShaRun sha = sha256While("sha", () -> CompletableFuture.supplyAsync(() -> xl(run1, "migrate", "--live", "sha", run2.toString()),
                r -> Thread.ofPlatform().daemon().start(r)));
        assertThat(sha.move().code()).as(sha.move().err()).isZero();
        assertGone(host1, sha.domid(), "sha");
        XlResult source = sha.exec().get(3, TimeUnit.MINUTES);
        assertThat(source.code()).as(source.err()).isZero();
        assertThat(source.err().strip()).isEqualTo("xl exec: domain sha migrated to " + run2
                + "; sha256sum continues there as data/exec/0, following it");
        assertThat(source.out()).isEqualTo(sha.digest() + "  /dev/xvda\n");
        assertResumedInLog(host2, domid(host2, "sha"), "sha256sum");
    }

    @Test
    void aBlkbenchRunningAtAMigrationToAnAddressRunsTheRestThereAndXlExecSaysWhereWith75() throws Exception {
        XlResult c = xl(run1, "create", config("bb").toString());
        assertThat(c.code()).as(c.err()).isZero();
        awaitConnected(host1, domid(host1, "bb"));
        CompletableFuture<XlResult> bench = CompletableFuture.supplyAsync(() -> xl(run1, "exec", "bb", "--", "blkbench", "/dev/xvda",
                "--rw", "randread", "--bs", "4k", "--qd", "4", "--seconds", "10", "--warmup", "0"), r -> Thread.ofPlatform().daemon().start(r));
        await().atMost(WAIT).until(() -> rchar(run1, "bb", 0) > 0);
        String address = "127.0.0.1:" + listener2.port();
        XlResult m = xl(run1, "migrate", "--live", "bb", address);
        assertThat(m.code()).as(m.err()).isZero();
        XlResult source = bench.get(2, TimeUnit.MINUTES);
        assertThat(source.code()).isEqualTo(75);
        assertThat(source.err().strip()).isEqualTo("xl exec: domain bb migrated to " + address + "; blkbench continues there as data/exec/0");
        SaveRestoreTest.assertBlkbenchTotals(host2, domid(host2, "bb"), 10);
    }

    @Test
    void aDdRunningAtAMigrationThatFailsGoesOnAtTheSourceAndItsStatusReachesXlExec() throws Exception {
        try (CuttingProxy proxy = new CuttingProxy(listener2.address(), 1 << 20, () -> { })) {
            DdRun dd = ddWhile("dd", () -> CompletableFuture.supplyAsync(() -> xl(run1, "migrate", "dd", proxy.address()),
                    r -> Thread.ofPlatform().daemon().start(r)));
            assertThat(dd.move().code()).isEqualTo(1);
            assertThat(lastLine(dd.move())).endsWith("; the guest runs on here (suspend cancelled)");
            assertDdFinishedAtTheSource(dd);
            assertThat(domid(host1, "dd")).isEqualTo(dd.domid());
            assertThat(running(host1, dd.domid())).isTrue();
            await().atMost(WAIT).untilAsserted(() -> assertTargetClean(host2));
        }
    }

    @Test
    void aStreamCutMidWayResumesTheGuestAtTheSourceAndLeavesNothingAtTheTarget() throws Exception {
        int domid = createWriter("g");
        try (CuttingProxy proxy = new CuttingProxy(listener2.address(), 1 << 20, () -> { })) {
            XlResult m = xl(run1, "migrate", "g", proxy.address());
            assertThat(m.code()).isEqualTo(1);
            assertThat(proxy.cut).isTrue();
            assertThat(lastLine(m)).startsWith("libxl: error: migration of g failed: ")
                    .endsWith("; the guest runs on here (suspend cancelled)");
        }
        assertOnlyAtSource(domid);
        stopAndCheckDisk(host1, "g");
    }

    @Test
    void aTargetThatDiesMidStreamLeavesTheGuestRunningAtTheSource() throws Exception {
        int domid = createWriter("g");
        Path run3 = dir.resolve("h3");
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        Process target = hostProcess(run3, List.of(), "--migrate-listen", "127.0.0.1:" + port);
        assertThat(Files.readString(run3.resolve(MigrationListener.ADDRESS_FILE)).strip()).isEqualTo("127.0.0.1:" + port);
        try (CuttingProxy proxy = new CuttingProxy(MigrationListener.of(run3), 1 << 20, () -> kill(target))) {
            XlResult m = xl(run1, "migrate", "g", proxy.address());
            assertThat(m.code()).isEqualTo(1);
            assertThat(lastLine(m)).endsWith("the guest runs on here (suspend cancelled)");
        }
        assertThat(target.isAlive()).isFalse();
        assertOnlyAtSource(domid);
        stopAndCheckDisk(host1, "g");
    }

    @Test
    void aSourceThatDiesMidStreamLeavesNothingAtTheTargetAndTheGuestRunsNowhere() throws Exception {
        Path run3 = dir.resolve("h3");
        Process source = hostProcess(run3, List.of());
        XlResult c = xl(run3, "create", config("g").toString());
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(xl(run3, "exec", "g", "--", "insmod", "seqwrite", "greet=8", "pause_ms=2").code()).isZero();
        long before = blocks();
        await().atMost(WAIT).until(() -> blocks() > before + 20);
        try (CuttingProxy proxy = new CuttingProxy(listener2.address(), 1 << 20, () -> kill(source))) {
            CompletableFuture<XlResult> m = CompletableFuture.supplyAsync(() -> xl(run3, "migrate", "g", proxy.address()),
                    r -> Thread.ofPlatform().daemon().start(r));
            XlResult r = m.get(3, TimeUnit.MINUTES);
            assertThat(r.code()).isEqualTo(1);
        }
        assertThat(source.isAlive()).isFalse();
        await().atMost(WAIT).untilAsserted(() -> assertTargetClean(host2));
        // Nowhere: the source's guest died with its host, and nothing writes to the disk any more.
        long stopped = blocks();
        Thread.sleep(1000);
        assertThat(blocks()).isEqualTo(stopped);
    }

    @Test
    void aDiskMissingOnTheTargetIsRefusedBeforeThePagesAndTheGuestRunsOnAtTheSource() throws Exception {
        int domid = createWriter("g");
        Path run3 = dir.resolve("h3");
        // A host that cannot see the disk's directory: its own mount namespace, a tmpfs over the directory.
        hostProcess(run3, List.of("unshare", "-m", "--propagation", "private", "sh", "-c",
                "mount -t tmpfs none '" + disk.getParent() + "' && exec \"$0\" \"$@\""));
        XlResult m = xl(run1, "migrate", "--live", "g", run3.toString());
        assertThat(m.code()).isEqualTo(1);
        assertThat(lastLine(m)).contains(disk.toString()).endsWith("; the guest runs on here (it was not suspended)");
        assertOnlyAtSource(domid);
        XlResult list = xl(run3, "list");
        assertThat(list.out()).doesNotContain("g ");
        stopAndCheckDisk(host1, "g");
    }

    @Test
    void aGuestThatDoesNotAcknowledgeTheSuspendStaysWhereItIs() throws Exception {
        int domid = createWriter("g");
        // A paused guest gets no store events: it cannot answer control/shutdown.
        assertThat(xl(run1, "pause", "g").code()).isZero();
        XlResult m = xl(run1, "migrate", "--suspend-timeout", "1", "g", run2.toString());
        assertThat(m.code()).isEqualTo(1);
        assertThat(lastLine(m)).contains("guest didn't acknowledge suspend, cancelling request")
                .endsWith("the guest stays here, paused (it was not suspended)");
        assertThat(read(host1, "/local/domain/" + domid + "/control/shutdown")).isEmpty();
        assertThat(xl(run1, "unpause", "g").code()).isZero();
        assertOnlyAtSource(domid);
        stopAndCheckDisk(host1, "g");
    }

    private void assertOnlyAtSource(int domid) throws Exception {
        assertThat(domid(host1, "g")).isEqualTo(domid);
        awaitRunningAndWriting(host1, domid);
        assertThat(running(host1, domid)).isTrue();
        await().atMost(WAIT).untilAsserted(() -> assertTargetClean(host2));
    }

    private static void assertTargetClean(Host h) throws Exception {
        assertThat(h.guests()).isEmpty();
        assertThat(h.domains()).hasSize(1);
        assertThat(h.xenstore().directory("/local/domain")).containsExactly("0");
        for (String kind : new String[] {"vbd", "mydevice"}) {
            String be = "/local/domain/0/backend/" + kind;
            assertThat(h.xenstore().exists(be) ? h.xenstore().directory(be) : List.of()).isEmpty();
        }
        try (var files = Files.list(h.runDir().resolve("hv/shm"))) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(f -> f.startsWith("d1."));
        }
    }

    private static String lastLine(XlResult r) {
        String[] lines = r.err().strip().split("\n");
        return lines[lines.length - 1];
    }

    private static void kill(Process p) {
        p.destroyForcibly();
        try {
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code jxen host --run-dir RUN OPTIONS} as its own process (behind {@code prefix}), once it listens for migrations. */
    private Process hostProcess(Path run, List<String> prefix, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), JxenCommand.class.getName(), "host", "--run-dir", run.toString(),
                // The hosts migrate to each other over TCP on this machine's loopback, so they share its network
                // namespace; with no bridge they leave its interfaces alone (a host makes xenbr0 by default).
                "--bridge", "none"));
        cmd.addAll(List.of(options));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(run.getFileName() + ".log").toFile())
                .start();
        processes.add(p);
        await().atMost(WAIT).until(() -> Files.exists(run.resolve(MigrationListener.ADDRESS_FILE))
                && Files.exists(run.resolve("toolstack.sock")) || !p.isAlive());
        assertThat(p.isAlive()).as(() -> {
            try {
                return Files.readString(dir.resolve(run.getFileName() + ".log"));
            } catch (java.io.IOException e) {
                return e.toString();
            }
        }).isTrue();
        return p;
    }
}
