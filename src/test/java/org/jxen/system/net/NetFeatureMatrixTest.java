package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.jxen.drivers.net.back.NetBack;
import org.jxen.drivers.net.front.NetFront;
import org.jxen.kernel.Kernel;
import org.jxen.system.TestGuestKernel;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.testing.Await;

/**
 * netfront against every subset of what netback advertises (scatter-gather, GSO, split event channels, multiple
 * queues, the control ring), and netback against every subset of what netfront writes (rx-notify, scatter-gather,
 * GSO): each pairing connects over real rings, grants and channels and carries frames both ways; frames above a
 * page go to the guest only if the frontend does scatter-gather, and from it only if the backend does; and with two queues on each side, both queues carry
 * traffic in each direction (netback's per-queue counters).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NetFeatureMatrixTest {
    @TempDir
    static Path dir;
    Host host;
    XsClient xs;
    Kernel guest;
    int domid;

    static final List<String> BACK_OPTIONAL = List.of("feature-sg", "gso", "feature-split-event-channels",
            "multi-queue-max-queues", "feature-ctrl-ring");
    static final List<String> FRONT_OPTIONAL = List.of("feature-rx-notify", "feature-sg", "gso");

    @BeforeAll
    void up() throws Exception {
        TestGuestKernel.KERNELS.clear();
        host = Host.start(dir, false);
        xs = host.xenstore();
        domid = host.create(new GuestConfig("g1", 16, 1, TestGuestKernel.class.getName(), List.of(), false)).domid();
        guest = TestGuestKernel.kernelOf(domid).get(60, TimeUnit.SECONDS);
    }

    @AfterAll
    void down() {
        if (host != null) host.close();
    }

    static Set<String> expand(Set<String> subset, boolean back) {
        Set<String> s = new HashSet<>();
        for (String f : subset) {
            if (f.equals("gso")) s.addAll(List.of("feature-gso-tcpv4", "feature-gso-tcpv6"));
            else s.add(f);
        }
        if (back && subset.contains("feature-sg")) s.add("feature-ipv6-csum-offload");
        return s;
    }

    static List<Set<String>> subsets(List<String> of) {
        List<Set<String>> all = new ArrayList<>();
        for (int m = 0; m < 1 << of.size(); m++) {
            Set<String> s = new HashSet<>();
            for (int i = 0; i < of.size(); i++) if ((m & 1 << i) != 0) s.add(of.get(i));
            all.add(s);
        }
        return all;
    }

    /** Every backend subset against Linux's frontend, and every frontend subset against Linux's backend. */
    static Stream<Arguments> pairings() {
        List<Arguments> a = new ArrayList<>();
        for (Set<String> b : subsets(BACK_OPTIONAL)) a.add(Arguments.of(b, Set.copyOf(FRONT_OPTIONAL)));
        for (Set<String> f : subsets(FRONT_OPTIONAL)) {
            if (f.size() < FRONT_OPTIONAL.size()) a.add(Arguments.of(Set.copyOf(BACK_OPTIONAL), f));
        }
        return a.stream();
    }

    @ParameterizedTest(name = "backend {0} / frontend {1}")
    @MethodSource("pairings")
    void carriesTraffic(Set<String> backSubset, Set<String> frontSubset) throws Exception {
        PipeLinks back = new PipeLinks();
        PipeLinks front = new PipeLinks();
        Set<String> backFeatures = expand(backSubset, true);
        backFeatures.add("feature-multicast-control");
        backFeatures.add("feature-dynamic-multicast-control");
        NetBack nb = new NetBack(new NetBack.Params(true, 2, backFeatures), back);
        host.dom0Kernel().unload(NetBack.NAME);
        host.dom0Kernel().load(nb);
        if (guest.modules().contains(NetFront.NAME)) guest.unload(NetFront.NAME);
        NetFront nf = new NetFront(new NetFront.Params(2, true, expand(frontSubset, false)), k -> front);
        guest.load(nf);
        VifHandshake vif = new VifHandshake(xs, domid, 0);
        vif.attach();
        try {
            String be = vif.be();
            String fe = vif.fe();
            for (String f : NetBack.Params.FEATURES) {
                assertThat(xs.readOrNull(be + "/" + f)).as(f).isEqualTo(backFeatures.contains(f)
                        ? f.equals("multi-queue-max-queues") ? "2" : "1" : null);
            }
            boolean mq = backSubset.contains("multi-queue-max-queues");
            assertThat(xs.readOrNull(fe + "/multi-queue-num-queues")).isEqualTo(mq ? "2" : null);
            String q0 = mq ? fe + "/queue-0" : fe;
            boolean split = backSubset.contains("feature-split-event-channels");
            assertThat(xs.readOrNull(q0 + "/event-channel-tx") != null).isEqualTo(split);
            assertThat(xs.readOrNull(q0 + "/event-channel") != null).isEqualTo(!split);
            assertThat(xs.readOrNull(fe + "/ctrl-ring-ref") != null).isEqualTo(backSubset.contains("feature-ctrl-ring"));
            for (String f : NetFront.Params.FEATURES) {
                assertThat(xs.readOrNull(fe + "/" + f)).as(f).isEqualTo(expand(frontSubset, false).contains(f) ? "1" : null);
            }
            PipeLinks.Pipe vifLink = back.links.get("vif" + domid + ".0");
            PipeLinks.Pipe eth = front.links.get("eth0");
            // As Linux: the guest sends frames above a page only to a backend with feature-sg (xennet_fix_features),
            // and netback sends them only to a frontend with feature-sg (vif->can_sg).
            boolean txBig = backSubset.contains("feature-sg");
            boolean rxBig = frontSubset.contains("feature-sg");
            for (int len : new int[] {60, 1514, 4096, 9014}) {
                byte[] f = frame(len, 1000);
                byte[] small = frame(100, 1001); // sent after it: the one that arrives if the big one is dropped
                eth.inject(f);
                eth.inject(small);
                vifLink.inject(f);
                vifLink.inject(small);
                // Two flows may take two queues: compared without order.
                assertThat(received(vifLink, len <= 4096 || txBig ? 2 : 1)).as("guest transmits %d", len)
                        .containsExactlyInAnyOrderElementsOf(len <= 4096 || txBig ? List.of(hex(f), hex(small)) : List.of(hex(small)));
                assertThat(received(eth, len <= 4096 || rxBig ? 2 : 1)).as("guest receives %d", len)
                        .containsExactlyInAnyOrderElementsOf(len <= 4096 || rxBig ? List.of(hex(f), hex(small)) : List.of(hex(small)));
            }
            if (mq) {
                for (int port = 0; port < 64; port++) {
                    eth.inject(frame(100, 2000 + port));
                    vifLink.inject(frame(100, 3000 + port));
                }
                for (int i = 0; i < 64; i++) {
                    assertThat(vifLink.toStack.poll(30, TimeUnit.SECONDS)).isNotNull();
                    assertThat(eth.toStack.poll(30, TimeUnit.SECONDS)).isNotNull();
                }
                List<long[]> perQueue = nb.queueCounters("vif" + domid + ".0");
                assertThat(perQueue).hasSize(2);
                for (long[] q : perQueue) {
                    assertThat(q[0]).as("tx packets of each queue").isPositive();
                    assertThat(q[1]).as("rx packets of each queue").isPositive();
                }
            }
        } finally {
            vif.detach();
        }
        Await.until("dom0's grants, ports and mappings of the vif given back",
                () -> host.dom0Kernel().xenbusResources().snapshot().isEmpty(), 30);
    }

    private static List<String> received(PipeLinks.Pipe p, int n) throws InterruptedException {
        List<String> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] f = p.toStack.poll(30, TimeUnit.SECONDS);
            assertThat(f).as("frame %d of %d", i + 1, n).isNotNull();
            got.add(hex(f));
        }
        assertThat(p.toStack.poll(200, TimeUnit.MILLISECONDS)).as("no more").isNull();
        return got;
    }

    private static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }

    /** An Ethernet/IPv4/UDP frame of {@code len} bytes to UDP port {@code port}: a flow of its own per port. */
    static byte[] frame(int len, int port) {
        ByteBuffer b = ByteBuffer.allocate(len);
        b.put(new byte[] {0, 0x16, 0x3e, 1, 2, 3, 0, 0x16, 0x3e, 1, 2, 4}).putShort((short) 0x0800);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (len - 14)).putInt(0).put((byte) 64).put((byte) 17)
                .putShort((short) 0).putInt(0x0a000001).putInt(0x0a000002);
        b.putShort((short) 40000).putShort((short) port).putShort((short) (len - 34)).putShort((short) 0);
        while (b.hasRemaining()) b.put((byte) b.position());
        return b.array();
    }
}
