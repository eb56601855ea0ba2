package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.TestMethodOrder;
import org.jxen.cli.XlResult;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.testing.Await;

/**
 * Two guests with vifs on a real bridge, on a host running inside a network namespace this test makes: real
 * ping, TCP through nc, jumbo frames, the store keys libxl, netback and netfront write, network-attach/-detach;
 * and after it nothing of it is left on the machine.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VifBridgeTest {
    Path dir;
    NamespacedHost host;

    @BeforeAll
    void up(@TempDir Path tmp) throws Exception {
        assumeTrue(NamespacedHost.available(), "needs root and ip netns");
        dir = tmp;
        host = new NamespacedHost(dir, List.of());
        assertThat(host.output()).contains("jxen host: created bridge xenbr0 (removed when the host stops)");
        guest("g1", "mac=00:16:3e:00:00:01,bridge=xenbr0,ip=10.0.0.1/24");
        guest("g2", "mac=00:16:3e:00:00:02,ip=10.0.0.2/24");
    }

    private void guest(String name, String vif) throws Exception {
        Path cfg = dir.resolve(name + ".cfg");
        Files.writeString(cfg, "name = '" + name + "'\nvif = [ '" + vif + "' ]\n");
        XlResult r = host.xl("create", cfg.toString());
        assertThat(r.code()).as(r.err()).isZero();
    }

    @AfterAll
    void down() throws Exception {
        if (host == null) return;
        String ns = host.ns;
        host.close();
        assertThat(NamespacedHost.namespaceExists(ns)).isFalse();
    }

    private XlResult exec(String dom, String... argv) throws Exception {
        String[] args = new String[argv.length + 3];
        args[0] = "exec";
        args[1] = dom;
        args[2] = "--";
        System.arraycopy(argv, 0, args, 3, argv.length);
        return host.xl(args);
    }

    @Test
    @Order(1)
    void theVifsArePortsOfTheBridgeAndEth0HasTheConfiguredAddress() throws Exception {
        assertThat(host.links()).contains("lo", "xenbr0", "vif1.0", "vif2.0");
        XlResult ports = host.inNs("bridge", "link");
        assertThat(ports.out()).contains("vif1.0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master xenbr0")
                .contains("vif2.0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master xenbr0");
        XlResult addr = exec("g1", "ip", "-br", "addr", "show", "dev", "eth0");
        assertThat(addr.code()).as(addr.err()).isZero();
        assertThat(addr.out()).startsWith("eth0").contains("10.0.0.1/24");
        XlResult link = exec("g1", "ip", "-o", "link", "show", "dev", "eth0");
        assertThat(link.out()).contains("link/ether 00:16:3e:00:00:01");
        // The guest's namespace is not the host's: no bridge in it.
        assertThat(exec("g1", "ip", "-o", "link").out()).doesNotContain("xenbr0").doesNotContain("vif1.0");
    }

    @Test
    @Order(2)
    void handshakeKeysByteForByte() throws Exception {
        try (XsClient xs = new XsClient(UnixSocketChannel.connect(host.runDir().resolve("xenstored/socket")))) {
            String be = "/local/domain/0/backend/vif/1/0";
            String fe = "/local/domain/1/device/vif/0";
            Map<String, String> backend = Map.ofEntries(Map.entry("frontend", fe), Map.entry("frontend-id", "1"),
                    Map.entry("online", "1"), Map.entry("state", "4"), Map.entry("mac", "00:16:3e:00:00:01"),
                    Map.entry("bridge", "xenbr0"), Map.entry("handle", "0"), Map.entry("type", "vif"),
                    Map.entry("ip", "10.0.0.1/24"), Map.entry("hotplug-status", "connected"),
                    Map.entry("feature-sg", "1"), Map.entry("feature-gso-tcpv4", "1"), Map.entry("feature-gso-tcpv6", "1"),
                    Map.entry("feature-ipv6-csum-offload", "1"), Map.entry("feature-rx-copy", "1"),
                    Map.entry("feature-rx-flip", "0"), Map.entry("feature-multicast-control", "1"),
                    Map.entry("feature-dynamic-multicast-control", "1"), Map.entry("feature-split-event-channels", "1"),
                    Map.entry("multi-queue-max-queues", "8"));
            for (var e : backend.entrySet()) assertThat(xs.readOrNull(be + "/" + e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
            assertThat(xs.readOrNull(be + "/script")).endsWith("/vif-bridge");
            Map<String, String> frontend = Map.ofEntries(Map.entry("backend", be), Map.entry("backend-id", "0"),
                    Map.entry("state", "4"), Map.entry("handle", "0"), Map.entry("mac", "00:16:3e:00:00:01"),
                    Map.entry("trusted", "1"), Map.entry("mtu", "1500"), Map.entry("request-rx-copy", "1"),
                    Map.entry("feature-rx-notify", "1"), Map.entry("feature-sg", "1"), Map.entry("feature-gso-tcpv4", "1"),
                    Map.entry("feature-gso-tcpv6", "1"), Map.entry("feature-ipv6-csum-offload", "1"));
            for (var e : frontend.entrySet()) assertThat(xs.readOrNull(fe + "/" + e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
            int queues = Integer.parseInt(xs.readOrNull(fe + "/multi-queue-num-queues"));
            assertThat(queues).isBetween(1, 8);
            String q0 = queues == 1 ? fe : fe + "/queue-0";
            for (String k : List.of("tx-ring-ref", "rx-ring-ref", "event-channel-tx", "event-channel-rx")) {
                assertThat(xs.readOrNull(q0 + "/" + k)).as(k).matches("[0-9]+");
            }
        }
    }

    @Test
    @Order(3)
    void pingBothWays() throws Exception {
        XlResult a = exec("g1", "ping", "-c", "3", "-W", "10", "10.0.0.2");
        assertThat(a.code()).as(a.out() + a.err()).isZero();
        assertThat(a.out()).contains("3 packets transmitted, 3 received, 0% packet loss");
        XlResult b = exec("g2", "ping", "-c", "3", "-W", "10", "10.0.0.1");
        assertThat(b.code()).as(b.out() + b.err()).isZero();
        assertThat(b.out()).contains("3 received");
    }

    @Test
    @Order(4)
    void aFileSentWithNcArrivesByteIdenticalInTcpSuperFrames() throws Exception {
        // With checksum offload and GSO on the TAP devices, bulk TCP crosses the vifs as frames far above the MTU
        // (1500 here): tcpdump on vif1.0 sees one of more than 4000 bytes.
        Process dump = new ProcessBuilder("ip", "netns", "exec", host.ns, "tcpdump", "-i", "vif1.0", "-c", "1", "-n",
                "tcp and greater 4000").redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        var dumpErr = new java.io.BufferedReader(new java.io.InputStreamReader(dump.getErrorStream()));
        StringBuilder dumpLog = new StringBuilder();
        for (String l; (l = dumpErr.readLine()) != null; ) {
            dumpLog.append(l).append('\n');
            if (l.startsWith("listening on")) break;
        }
        Path src = dir.resolve("src.bin");
        Path dst = dir.resolve("dst.bin");
        byte[] data = new byte[16 << 20];
        new Random(15).nextBytes(data);
        Files.write(src, data);
        CompletableFuture<XlResult> server = CompletableFuture.supplyAsync(() -> {
            try {
                return exec("g2", "sh", "-c", "nc -l 10.0.0.2 5001 > " + dst);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        // The listener starts in its own time: the client tries until it connects.
        XlResult[] client = new XlResult[1];
        Await.until("nc to connect", () -> {
            try {
                client[0] = exec("g1", "sh", "-c", "nc -N 10.0.0.2 5001 < " + src);
                return client[0].code() == 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, 120);
        XlResult s = server.get();
        assertThat(s.code()).as(s.err()).isZero();
        assertThat(sha256(Files.readAllBytes(dst))).isEqualTo(sha256(data));
        boolean seen = dump.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
        if (!seen) dump.destroyForcibly().waitFor();
        for (String l; (l = dumpErr.readLine()) != null; ) dumpLog.append(l).append('\n');
        assertThat(seen).as(dumpLog.toString()).isTrue();
        assertThat(dumpLog.toString()).contains("1 packet captured");
    }

    @Test
    @Order(5)
    void jumboFramesTakeSeveralSlots() throws Exception {
        for (String dev : List.of("xenbr0", "vif1.0", "vif2.0")) NamespacedHost.run("ip", "-n", host.ns, "link", "set", dev, "mtu", "9000");
        for (String g : List.of("g1", "g2")) assertThat(exec(g, "ip", "link", "set", "eth0", "mtu", "9000").code()).isZero();
        // 8972 bytes of ICMP payload: a 9014-byte frame, three 4 KiB slots each way; DF set, so no fragmentation.
        XlResult r = exec("g1", "ping", "-c", "3", "-W", "10", "-M", "do", "-s", "8972", "10.0.0.2");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("8980 bytes from 10.0.0.2").contains("3 received");
    }

    @Test
    @Order(6)
    void networkAttachListDetach() throws Exception {
        XlResult a = host.xl("network-attach", "g1", "mac=00:16:3e:00:01:01", "ip=10.0.1.1/24");
        assertThat(a.code()).as(a.err()).isZero();
        assertThat(host.links()).contains("vif1.1");
        XlResult list = host.xl("network-list", "g1");
        assertThat(list.out().lines().toList()).startsWith(
                "Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ");
        assertThat(list.out()).contains("1   0  00:16:3e:00:01:01     1     4 ");
        assertThat(exec("g1", "ip", "-br", "addr", "show", "dev", "eth1").out()).contains("10.0.1.1/24");
        XlResult d = host.xl("network-detach", "g1", "00:16:3e:00:01:01");
        assertThat(d.code()).as(d.err()).isZero();
        assertThat(host.links()).doesNotContain("vif1.1");
        XlResult unknown = host.xl("network-detach", "g1", "7");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).isEqualTo("Unknown device 7.\n");
        assertThat(exec("g1", "ip", "-o", "link").out()).doesNotContain("eth1");
        // xl's parse_nic_config refuses what it does not know, in its words, before anything is added.
        assertThat(host.xl("network-attach", "g1", "foo=bar")).isEqualTo(new XlResult(1, "", "unrecognized argument `foo=bar'\n"));
        assertThat(host.links()).doesNotContain("vif1.2");
    }

    @Test
    @Order(7)
    void tcpWithIperf3GuestToGuest() throws Exception {
        CompletableFuture<XlResult> server = CompletableFuture.supplyAsync(() -> {
            try {
                return exec("g2", "iperf3", "-s", "-1", "-B", "10.0.0.2");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        XlResult[] client = new XlResult[1];
        Await.until("iperf3 to connect", () -> {
            try {
                client[0] = exec("g1", "iperf3", "-c", "10.0.0.2", "-t", "2");
                return client[0].code() == 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, 120);
        assertThat(client[0].out()).contains("sender").contains("receiver").contains("iperf Done.");
        XlResult s = server.get();
        assertThat(s.code()).as(s.err()).isZero();
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
