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

    static boolean running(Host h, int domid) {
        try {
            return h.dom0().domainControl().info(domid).state() == org.jxen.hypervisor.DomainState.RUNNING;
        } catch (HypercallException e) {
            return false;
        }
    }
}
