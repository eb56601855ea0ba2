package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 * Two guests on xenbr0 (the host's default bridge, made by the host) of a host in a namespace this test makes, with
 * dom0 on the bridge at 10.0.0.254: the bridge floods a frame for an unknown MAC and forwards a learnt one only to
 * its port (tcpdump on another vif); TCP guest to dom0 with iperf3 and a file through nc, byte-identical; the
 * vif's rate, from the config as libxl writes it and changed live through the store, brings iperf3's throughput
 * down to it; and network-detach while iperf3 runs ends cleanly, and a reattach works.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BridgeTrafficTest {
    static final String DOM0 = "10.0.0.254";
    Path dir;
    NamespacedHost host;

    @BeforeAll
    void up(@TempDir Path tmp) throws Exception {
        assumeTrue(NamespacedHost.available(), "needs root and ip netns");
        dir = tmp;
        host = new NamespacedHost(dir, List.of());
        assertThat(host.output()).contains("jxen host: created bridge xenbr0 (removed when the host stops)");
        guest("g1", "mac=00:16:3e:00:00:01,ip=10.0.0.1/24");
        guest("g2", "mac=00:16:3e:00:00:02,ip=10.0.0.2/24");
        NamespacedHost.run("ip", "-n", host.ns, "addr", "add", DOM0 + "/24", "dev", "xenbr0");
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
        List<String> args = new ArrayList<>(List.of("exec", dom, "--"));
        args.addAll(List.of(argv));
        return host.xl(args.toArray(String[]::new));
    }

    /**
     * On a thread of its own: the common pool has one thread on a 2-CPU machine, where a client queued behind
     * its server would start only once the server had given up.
     */
    private static CompletableFuture<XlResult> async(java.util.concurrent.Callable<XlResult> c) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return c.call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, task -> Thread.ofPlatform().daemon().name("bridge-traffic-async").start(task));
    }

    @Test
    @Order(1)
    void aFrameToAnUnknownMacFloodsAndALearntOneDoesNot() throws Exception {
        // A port of dom0's own on the bridge, whose address the bridge learns when it answers.
        NamespacedHost.run("ip", "-n", host.ns, "link", "add", "vtest", "address", "02:00:00:00:00:50", "type", "veth",
                "peer", "name", "vtestp");
        NamespacedHost.run("ip", "-n", host.ns, "link", "set", "vtestp", "master", "xenbr0", "up");
        NamespacedHost.run("ip", "-n", host.ns, "addr", "add", "10.0.0.250/24", "dev", "vtest");
        NamespacedHost.run("ip", "-n", host.ns, "link", "set", "vtest", "up");
        List<String> cmd = List.of("ip", "netns", "exec", host.ns, "tcpdump", "-i", "vif2.0", "-n", "-e", "-l",
                "ether dst 00:16:3e:99:99:99 or ether dst 02:00:00:00:00:50");
        Path out = dir.resolve("tcpdump.out");
        Path err = dir.resolve("tcpdump.err");
        Process tcpdump = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            Await.until("tcpdump listening", () -> read(err).contains("listening on vif2.0"), 60);
            XlResult learnt = exec("g1", "ping", "-c", "3", "-W", "10", "10.0.0.250");
            assertThat(learnt.out()).as(learnt.err()).contains("3 received");
            assertThat(exec("g1", "ip", "neigh", "replace", "10.0.0.99", "lladdr", "00:16:3e:99:99:99", "dev", "eth0",
                    "nud", "permanent").code()).isZero();
            XlResult unknown = exec("g1", "ping", "-c", "3", "-W", "1", "10.0.0.99");
            assertThat(unknown.out()).contains("3 packets transmitted, 0 received");
            // The unknown address's echo requests are flooded to g2's port too ...
            Await.until("3 flooded frames on vif2.0",
                    () -> read(out).lines().filter(l -> l.contains("> 00:16:3e:99:99:99,")).count() >= 3, 60);
            assertThat(read(out).lines().filter(l -> l.contains("> 00:16:3e:99:99:99,")))
                    .allMatch(l -> l.startsWith(l.substring(0, l.indexOf(' ') + 1) + "00:16:3e:00:00:01 > "))
                    .allMatch(l -> l.contains("10.0.0.1 > 10.0.0.99: ICMP echo request"));
            // ... while those to the learnt address, sent before them on the same path, never reached it.
            assertThat(read(out)).doesNotContain("> 02:00:00:00:00:50,");
            assertThat(host.inNs("bridge", "fdb", "show", "br", "xenbr0").out()).contains("02:00:00:00:00:50 dev vtestp");
        } finally {
            tcpdump.destroy();
            tcpdump.waitFor();
            NamespacedHost.run("ip", "-n", host.ns, "link", "del", "vtest");
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    @Order(2)
    void tcpGuestToDom0WithIperf3AndAFileThroughNc() throws Exception {
        double bps = iperf3ToDom0("g1", 5201, 2);
        assertThat(bps).isPositive();

        Path src = dir.resolve("src.bin");
        Path dst = dir.resolve("dst.bin");
        byte[] data = new byte[4 << 20];
        new Random(16).nextBytes(data);
        Files.write(src, data);
        CompletableFuture<XlResult> server = async(() -> host.inNs("sh", "-c", "nc -l " + DOM0 + " 5002 > " + dst));
        XlResult[] client = new XlResult[1];
        Await.until("nc to connect", () -> {
            try {
                client[0] = exec("g2", "sh", "-c", "nc -N " + DOM0 + " 5002 < " + src);
                return client[0].code() == 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, 120);
        assertThat(server.get().code()).isZero();
        assertThat(sha256(Files.readAllBytes(dst))).isEqualTo(sha256(data));
    }

    /** iperf3 from {@code guest} to dom0 for {@code seconds}: the receiver's bits per second. */
    private double iperf3ToDom0(String guest, int port, int seconds) throws Exception {
        CompletableFuture<XlResult> server = async(() -> host.inNs("timeout", "120", "iperf3", "-s", "-1", "-B", DOM0,
                "-p", Integer.toString(port)));
        XlResult[] client = new XlResult[1];
        Await.until("iperf3 to connect", () -> {
            try {
                client[0] = exec(guest, "timeout", "100", "iperf3", "-c", DOM0, "-p", Integer.toString(port), "-t",
                        Integer.toString(seconds), "-J");
                return client[0].code() == 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, 120);
        assertThat(server.get().code()).isZero();
        Matcher m = Pattern.compile("\"sum_received\":\\s*\\{[^}]*?\"bits_per_second\":\\s*([0-9.e+]+)", Pattern.DOTALL)
                .matcher(client[0].out());
        assertThat(m.find()).as(client[0].out()).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    @Order(3)
    void theRateFromTheConfigAndItsLiveChangeThroughTheStore() throws Exception {
        // rate=10Mb/s@20ms: 1,250,000 bytes/s, 25,000 bytes every 20,000 us, as libxl writes it.
        XlResult a = host.xl("network-attach", "g1", "mac=00:16:3e:00:01:01", "ip=10.0.1.1/24", "rate=10Mb/s@20ms");
        assertThat(a.code()).as(a.err()).isZero();
        String be = "/local/domain/0/backend/vif/1/";
        try (XsClient xs = new XsClient(UnixSocketChannel.connect(host.runDir().resolve("xenstored/socket")))) {
            assertThat(xs.readOrNull(be + "1/rate")).isEqualTo("25000,20000");
            assertThat(host.xl("network-detach", "g1", "1").code()).isZero();

            // xl network-rate (jxen's): the same value through the store, or none.
            assertThat(host.xl("network-rate", "g1", "0", "10Mb/s@20ms").code()).isZero();
            assertThat(xs.readOrNull(be + "0/rate")).isEqualTo("25000,20000");
            assertThat(host.xl("network-rate", "g1", "0", "unlimited").code()).isZero();
            assertThat(xs.readOrNull(be + "0/rate")).isNull();
            XlResult bad = host.xl("network-rate", "g1", "0", "fast");
            assertThat(bad.code()).isEqualTo(1);
            assertThat(bad.err()).isEqualTo("libxl: error: config parsing error in vif: invalid rate in `fast'\n");
            XlResult none = host.xl("network-rate", "g1", "7", "1Mb/s");
            assertThat(none.code()).isEqualTo(1);
            assertThat(none.err()).isEqualTo("Unknown device 7.\n");

            double before = iperf3ToDom0("g1", 5203, 3);
            // 20 Mb/s: 2,500,000 bytes a second, 125,000 every 50 ms, written while the vif is Connected.
            xs.write(be + "0/rate", "125000,50000");
            double limited = iperf3ToDom0("g1", 5204, 4);
            xs.rm(be + "0/rate"); // no rate: unlimited again
            double after = iperf3ToDom0("g1", 5205, 3);
            System.out.printf("BridgeTrafficTest: iperf3 g1 -> dom0: %.1f Mb/s, at rate 20 Mb/s %.1f Mb/s, after %.1f Mb/s%n",
                    before / 1e6, limited / 1e6, after / 1e6);
            assertThat(limited).as("at 20 Mb/s (before %.0f, after %.0f)", before, after).isBetween(8e6, 30e6);
            assertThat(before).as("unlimited before").isGreaterThan(60e6);
            assertThat(after).as("unlimited after").isGreaterThan(60e6);
        }
    }

    @Test
    @Order(4)
    void networkDetachWhileIperf3RunsEndsCleanlyAndAReattachWorks() throws Exception {
        // Earlier tests have already sent traffic through vif1.0: under way means 20 MB more than now.
        long before = vifRxBytes();
        CompletableFuture<XlResult> server = async(() -> exec("g2", "timeout", "90", "iperf3", "-s", "-1", "-B", "10.0.0.2",
                "--rcv-timeout", "5000"));
        CompletableFuture<XlResult> client = async(() -> {
            XlResult r;
            long end = System.nanoTime() + 120_000_000_000L;
            do { // until the server listens; then it runs until the detach cuts it
                r = exec("g1", "timeout", "60", "iperf3", "-c", "10.0.0.2", "-t", "30", "--connect-timeout", "3000");
            } while (r.code() != 0 && (r.out() + r.err()).contains("unable to connect") && System.nanoTime() < end);
            return r;
        });
        String vif = "/local/domain/0/backend/vif/1/0";
        try (XsClient xs = new XsClient(UnixSocketChannel.connect(host.runDir().resolve("xenstored/socket")))) {
            try {
                Await.until("iperf3 under way", () -> {
                    try {
                        return vifRxBytes() > before + 20_000_000L;
                    } catch (Exception e) {
                        return false;
                    }
                }, 120);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; vif1.0 received " + (vifRxBytes() - before) + " bytes; client "
                        + (client.isDone() ? client.join() : "running") + "; server " + (server.isDone() ? server.join() : "running"), e);
            }
            XlResult d = host.xl("network-detach", "g1", "0");
            assertThat(d.code()).as(d.err()).isZero();
            assertThat(d.err()).isEmpty();
            assertThat(xs.exists(vif)).isFalse();
        }
        assertThat(host.links()).doesNotContain("vif1.0");
        assertThat(exec("g1", "ip", "-o", "link").out()).doesNotContain("eth0");
        // The client ends (its connection is gone: an error, not a hang); so does the server, by its timeout.
        XlResult c = client.get();
        assertThat(c.code()).as(c.out() + c.err()).isNotZero();
        server.get();

        XlResult a = host.xl("network-attach", "g1", "mac=00:16:3e:00:00:01", "ip=10.0.0.1/24");
        assertThat(a.code()).as(a.err()).isZero();
        assertThat(host.links()).contains("vif1.0");
        XlResult ping = exec("g1", "ping", "-c", "3", "-W", "10", "10.0.0.2");
        assertThat(ping.out()).as(ping.err()).contains("3 received");
        assertThat(iperf3ToDom0("g1", 5206, 1)).isPositive();
    }

    /** The bytes dom0's vif1.0 has received, from {@code ip -s -o link}. */
    private long vifRxBytes() throws Exception {
        XlResult l = host.inNs("ip", "-s", "-o", "link", "show", "vif1.0");
        Matcher m = Pattern.compile("RX:.*?\\\\\\s+(\\d+)").matcher(l.out());
        if (!m.find()) throw new IllegalStateException("no RX counters for vif1.0: " + l.out() + l.err());
        return Long.parseLong(m.group(1));
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
