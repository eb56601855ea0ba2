package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.jxen.cli.XlResult;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;

/**
 * A guest with a vif saved, restored and migrated between two hosts, each in a network namespace of its own with
 * its xenbr0 (dom0 at 10.0.0.254 on one, 10.0.0.253 on the other), the migration stream over a veth pair between
 * the namespaces: netfront keeps its MAC (the store's {@code mac} nodes, the guest's eth0) and traffic across the
 * bridge works again after each move. An in-process guest saved or migrated away is torn down as a destroyed one
 * is: no thread, TAP device or network namespace of it is left in the source host's process.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(600)
class NetMigrationTest {
    static final Duration WAIT = Duration.ofSeconds(120);
    static final String PORT = "7001";
    Path dir;
    NamespacedHost h1;
    NamespacedHost h2;

    @BeforeAll
    void up(@TempDir Path tmp) throws Exception {
        assumeTrue(NamespacedHost.available(), "needs root and ip netns");
        dir = tmp;
        h1 = new NamespacedHost(Files.createDirectories(dir.resolve("h1")), List.of(), List.of("--migrate-listen", PORT));
        h2 = new NamespacedHost(Files.createDirectories(dir.resolve("h2")), List.of(), List.of("--migrate-listen", PORT));
        // The hosts' own link for migration streams; it goes with the namespaces.
        NamespacedHost.run("ip", "-n", h1.ns, "link", "add", "jxmig1", "type", "veth", "peer", "name", "jxmig2", "netns", h2.ns);
        NamespacedHost.run("ip", "-n", h1.ns, "addr", "add", "10.66.0.1/24", "dev", "jxmig1");
        NamespacedHost.run("ip", "-n", h2.ns, "addr", "add", "10.66.0.2/24", "dev", "jxmig2");
        NamespacedHost.run("ip", "-n", h1.ns, "link", "set", "jxmig1", "up");
        NamespacedHost.run("ip", "-n", h2.ns, "link", "set", "jxmig2", "up");
        NamespacedHost.run("ip", "-n", h1.ns, "addr", "add", "10.0.0.254/24", "dev", "xenbr0");
        NamespacedHost.run("ip", "-n", h2.ns, "addr", "add", "10.0.0.253/24", "dev", "xenbr0");
    }

    @AfterAll
    void down() throws Exception {
        for (NamespacedHost h : new NamespacedHost[] {h1, h2}) {
            if (h == null) continue;
            h.close();
            assertThat(NamespacedHost.namespaceExists(h.ns)).isFalse();
        }
    }

    @Test
    @Order(1)
    void aGuestKeepsItsMacAndItsTrafficAfterSaveRestoreAndMigration() throws Exception {
        create(h1, "g", "0", "00:16:3e:00:00:11", "10.0.0.1/24");
        assertMacAndTraffic(h1, "g", "00:16:3e:00:00:11", "10.0.0.1", "10.0.0.254");

        saveAndRestore(h1, "g");
        assertMacAndTraffic(h1, "g", "00:16:3e:00:00:11", "10.0.0.1", "10.0.0.254");

        migrate(h1, "g", "10.66.0.2:" + PORT);
        assertThat(h1.links()).noneMatch(l -> l.startsWith("vif"));
        assertMacAndTraffic(h2, "g", "00:16:3e:00:00:11", "10.0.0.1", "10.0.0.253");
        assertThat(h2.xl("destroy", "g").code()).isZero();
    }

    @Test
    @Order(2)
    void anInProcessGuestSavedOrMigratedAwayLeavesNoThreadTapOrNamespaceAtTheSource() throws Exception {
        create(h1, "p", "1", "00:16:3e:00:00:12", "10.0.0.2/24");
        assertMacAndTraffic(h1, "p", "00:16:3e:00:00:12", "10.0.0.2", "10.0.0.254");
        int domid = domid(h1, "p");
        // What the checks look for is there while the guest runs in the host's process.
        assertThat(guestThreads(h1, domid)).anyMatch(t -> t.startsWith("eth0-"));
        assertThat(foreignNamespaces(h1)).isNotEmpty();
        assertThat(tunDescriptors(h1)).isPositive();

        Path image = dir.resolve("p.save");
        XlResult save = h1.xl("save", "p", image.toString());
        assertThat(save.code()).as(save.err()).isZero();
        assertNothingLeftOf(h1, domid);
        XlResult restore = h1.xl("restore", image.toString());
        assertThat(restore.code()).as(restore.err()).isZero();
        assertMacAndTraffic(h1, "p", "00:16:3e:00:00:12", "10.0.0.2", "10.0.0.254");
        int restored = domid(h1, "p");
        assertThat(guestThreads(h1, restored)).anyMatch(t -> t.startsWith("eth0-"));

        migrate(h1, "p", "10.66.0.2:" + PORT);
        assertNothingLeftOf(h1, restored);
        assertMacAndTraffic(h2, "p", "00:16:3e:00:00:12", "10.0.0.2", "10.0.0.253");
        assertThat(h2.xl("destroy", "p").code()).isZero();
    }

    private void create(NamespacedHost h, String name, String inproc, String mac, String ip) throws Exception {
        Path cfg = dir.resolve(name + ".cfg");
        Files.writeString(cfg, "name = '" + name + "'\ninproc = " + inproc + "\nvif = [ 'mac=" + mac + ",ip=" + ip + "' ]\n");
        XlResult r = h.xl("create", cfg.toString());
        assertThat(r.code()).as(r.err()).isZero();
    }

    private void saveAndRestore(NamespacedHost h, String name) throws Exception {
        Path image = dir.resolve(name + ".save");
        XlResult save = h.xl("save", name, image.toString());
        assertThat(save.code()).as(save.err()).isZero();
        XlResult restore = h.xl("restore", image.toString());
        assertThat(restore.code()).as(restore.err()).isZero();
        Files.delete(image);
    }

    private static void migrate(NamespacedHost from, String name, String target) throws Exception {
        XlResult m = from.xl("migrate", name, target);
        assertThat(m.code()).as(m.err()).isZero();
        assertThat(m.err()).contains("Migration successful");
    }

    private static int domid(NamespacedHost h, String name) throws Exception {
        XlResult r = h.xl("list", name);
        assertThat(r.code()).as(r.err()).isZero();
        return Integer.parseInt(r.out().lines().filter(l -> l.startsWith(name + " ")).findFirst().orElseThrow().trim().split("\\s+")[1]);
    }

    /**
     * The vif's {@code mac} in the store (frontend and backend) and on the guest's eth0 is {@code mac}, with its
     * address; the guest reaches dom0 across the bridge and dom0 reaches the guest.
     */
    private static void assertMacAndTraffic(NamespacedHost h, String name, String mac, String ip, String dom0) throws Exception {
        int domid = domid(h, name);
        try (XsClient xs = new XsClient(UnixSocketChannel.connect(h.runDir().resolve("xenstored/socket")))) {
            await().atMost(WAIT).until(() -> "4".equals(xs.readOrNull("/local/domain/" + domid + "/device/vif/0/state")));
            assertThat(xs.readOrNull("/local/domain/" + domid + "/device/vif/0/mac")).isEqualTo(mac);
            assertThat(xs.readOrNull("/local/domain/0/backend/vif/" + domid + "/0/mac")).isEqualTo(mac);
        }
        XlResult link = h.xl("exec", name, "--", "ip", "-o", "link", "show", "eth0");
        assertThat(link.out()).as(link.err()).contains("link/ether " + mac + " ");
        XlResult addr = h.xl("exec", name, "--", "ip", "-o", "-4", "addr", "show", "eth0");
        assertThat(addr.out()).as(addr.err()).contains("inet " + ip + "/24");
        // The first echo may go while the bridge port is still coming up: retried until one gets through.
        await().atMost(WAIT).untilAsserted(() -> {
            XlResult ping = h.xl("exec", name, "--", "ping", "-c", "1", "-W", "5", dom0);
            assertThat(ping.out()).as(ping.err()).contains("1 received");
        });
        XlResult back = h.inNs("ping", "-c", "2", "-W", "10", ip);
        assertThat(back.out()).as(back.err()).contains("2 received");
    }

    /** Nothing of in-process domain {@code domid} is in the host's process or its namespace any more. */
    private static void assertNothingLeftOf(NamespacedHost h, int domid) {
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(guestThreads(h, domid)).isEmpty();
            assertThat(foreignNamespaces(h)).isEmpty();
            assertThat(h.links()).noneMatch(l -> l.startsWith("vif"));
            assertThat(tunDescriptors(h)).isZero();
        });
    }

    /**
     * Threads of the host's process that belong to guest {@code domid} or its devices, by the names the kernel
     * shows (Java names platform threads; 15 characters): its kernel's ({@code dN-...}), netfront's and its
     * TAP's ({@code eth0-...}), and dom0's backend of its vif ({@code vifN.0...}).
     */
    private static List<String> guestThreads(NamespacedHost h, int domid) throws IOException {
        List<String> names = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + h.pid() + "/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    String comm = Files.readString(t.resolve("comm")).strip();
                    if (comm.startsWith("d" + domid + "-") || comm.startsWith("eth0-") || comm.startsWith("vif" + domid + "."))
                        names.add(comm);
                } catch (IOException e) {
                    // ended meanwhile
                }
            }
        }
        return names;
    }

    /** Network namespaces other than the host's own that its threads are in or its descriptors hold. */
    private static List<String> foreignNamespaces(NamespacedHost h) throws IOException {
        String own = Files.readSymbolicLink(Path.of("/proc/" + h.pid() + "/ns/net")).toString();
        List<String> out = new ArrayList<>();
        for (String l : links(Path.of("/proc/" + h.pid() + "/fd"))) if (l.startsWith("net:[") && !l.equals(own)) out.add(l);
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + h.pid() + "/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    String ns = Files.readSymbolicLink(t.resolve("ns/net")).toString();
                    if (!ns.equals(own)) out.add(ns);
                } catch (IOException e) {
                    // ended meanwhile
                }
            }
        }
        return out;
    }

    /** TAP devices the host's process holds open (the guest's eth0 and dom0's vifs alike). */
    private static long tunDescriptors(NamespacedHost h) throws IOException {
        return links(Path.of("/proc/" + h.pid() + "/fd")).stream().filter(l -> l.equals("/dev/net/tun")).count();
    }

    private static List<String> links(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> fds = Files.list(dir)) {
            for (Path fd : fds.toList()) {
                try {
                    out.add(Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        return out;
    }
}
