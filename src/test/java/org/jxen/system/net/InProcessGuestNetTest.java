package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.drivers.net.TapLink;
import org.jxen.drivers.net.back.NetBack;
import org.jxen.drivers.net.front.NetFront;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.NetNamespace;
import org.jxen.system.TestGuestKernel;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.xenstore.testing.Await;

/**
 * An in-process guest with real TAP devices: its {@code eth0} in its own namespace, dom0's {@code vif1.0} in a
 * namespace this test makes (nothing touches the machine's interfaces). Two queues carry traffic each way; then
 * the guest is destroyed in the middle of an iperf3 transfer, and afterwards there is no grant, port or mapping
 * in dom0, no TAP device on either side, no netfront thread, no program and no namespace of the guest left.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class InProcessGuestNetTest {
    @TempDir
    static Path dir;
    NetNamespace dom0ns;
    Host host;
    NetBack nb;
    Kernel guest;
    int domid;
    String vifName;
    Set<Thread> before;

    @BeforeAll
    void up() throws Exception {
        assumeTrue(NamespacedHost.available(), "needs root and ip netns");
        before = Set.copyOf(Thread.getAllStackTraces().keySet());
        dom0ns = new NetNamespace();
        dom0ns.fd();
        TestGuestKernel.KERNELS.clear();
        host = Host.start(dir, false);
        nb = new NetBack(NetBack.Params.DEFAULT, TapLink.in(dom0ns));
        host.dom0Kernel().unload(NetBack.NAME);
        host.dom0Kernel().load(nb);
        domid = host.create(new GuestConfig("g1", 16, 1, TestGuestKernel.class.getName(), List.of(), false)).domid();
        guest = TestGuestKernel.kernelOf(domid).get(60, TimeUnit.SECONDS);
        guest.load(new NetFront(new NetFront.Params(2), k -> TapLink.in(k.netns())));
        vifName = "vif" + domid + ".0";
        VifHandshake vif = new VifHandshake(host.xenstore(), domid, 0);
        vif.ip = "10.9.0.2/24";
        vif.attachUntilHotplug();
        // What vif-bridge would do in dom0's namespace: here an address on the vif instead of a bridge.
        dom0ns.run("ip", "addr", "add", "10.9.0.1/24", "dev", vifName);
        dom0ns.run("ip", "link", "set", vifName, "up");
        host.xenstore().write(vif.be() + "/hotplug-status", "connected");
        Await.until("backend Connected", () -> "4".equals(quietly(() -> host.xenstore().readOrNull(vif.be() + "/state"))), 30);
    }

    @AfterAll
    void down() {
        if (host != null) host.close();
        if (dom0ns != null) dom0ns.close();
    }

    private static String run(NetNamespace ns, String... argv) throws Exception {
        Process p = ns.start(new ProcessBuilder(argv).redirectErrorStream(true));
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", argv) + ": " + out).isZero();
        return out;
    }

    @Test
    @Order(1)
    void twoQueuesEachCarryTrafficBothWays() throws Exception {
        assertThat(host.xenstore().readOrNull("/local/domain/" + domid + "/device/vif/0/multi-queue-num-queues")).isEqualTo("2");
        assertThat(run(guest.netns(), "ping", "-c", "2", "-W", "10", "10.9.0.1")).contains("2 received");
        // 32 UDP flows each way (bash's /dev/udp): flows are spread over the queues by their ports.
        String flows = "for p in $(seq 7000 7031); do echo x > /dev/udp/%s/$p; done";
        run(guest.netns(), "bash", "-c", flows.formatted("10.9.0.1"));
        run(dom0ns, "bash", "-c", flows.formatted("10.9.0.2"));
        Await.until("both queues busy both ways", () -> {
            List<long[]> q = nb.queueCounters(vifName);
            return q.size() == 2 && q.stream().allMatch(c -> c[0] > 0 && c[1] > 0);
        }, 60);
    }

    @Test
    @Order(2)
    void aGuestDestroyedMidTransferLeavesNothing() throws Exception {
        String guestNs = guest.netns().inside(() -> Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString());
        Process server = dom0ns.start(new ProcessBuilder("iperf3", "-s", "-1", "-B", "10.9.0.1")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD));
        try {
            Process[] client = new Process[1];
            long[] txBefore = {sum(nb.queueCounters(vifName))};
            Await.until("iperf3 sending", () -> {
                if (client[0] == null || !client[0].isAlive()) {
                    client[0] = quietly(() -> guest.netns().start(new ProcessBuilder("iperf3", "-c", "10.9.0.1", "-t", "120")
                            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)));
                }
                return sum(nb.queueCounters(vifName)) > txBefore[0] + 2000;
            }, 120);
            assertThat(client[0].isAlive()).isTrue();

            host.destroy(domid);

            Await.until("the guest's iperf3 killed with it", () -> !client[0].isAlive(), 60);
            Await.until("dom0's grants, ports and mappings given back",
                    () -> host.dom0Kernel().xenbusResources().snapshot().isEmpty(), 60);
            Await.until("no vif in dom0", () -> !quietly(() -> run(dom0ns, "ip", "-o", "link")).contains(vifName), 60);
            assertThat(nb.queueCounters(vifName)).isEmpty();
            Await.until("no netfront or TAP thread of the guest", () -> guestThreads().isEmpty(), 60);
            assertThat(guest.netns().exists()).isFalse();
            Await.until("nothing in this process holds the guest's namespace", () -> !quietly(InProcessGuestNetTest::holders).contains(guestNs), 60);
            assertThat(host.domains().stream().noneMatch(d -> d.domid() == domid)).isTrue();
        } finally {
            server.destroyForcibly();
        }
    }

    private static <T> T quietly(java.util.concurrent.Callable<T> c) {
        try {
            return c.call();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static long sum(List<long[]> q) {
        long s = 0;
        for (long[] c : q) s += c[0];
        return s;
    }

    /** Threads started since the class began whose names are the guest interface's (eth0-rx, eth0-q0-rx...). */
    private List<String> guestThreads() {
        List<String> names = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (!before.contains(t) && t.isAlive() && t.getName().startsWith("eth0-")) names.add(t.getName());
        }
        return names;
    }

    /** The network namespaces this process's descriptors and threads refer to. */
    private static List<String> holders() throws IOException {
        List<String> ns = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    ns.add(Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    ns.add(Files.readSymbolicLink(t.resolve("ns/net")).toString());
                } catch (IOException e) {
                    // ended meanwhile
                }
            }
        }
        return ns;
    }
}
