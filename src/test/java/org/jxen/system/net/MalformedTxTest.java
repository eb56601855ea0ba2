package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.drivers.net.Netif;
import org.jxen.drivers.net.NetifExtraInfo;
import org.jxen.drivers.net.NetifTxRequest;
import org.jxen.drivers.net.NetifTxResponse;
import org.jxen.drivers.net.Offload;
import org.jxen.drivers.net.back.NetBack;
import org.jxen.drivers.net.front.NetFront;
import org.jxen.kernel.Kernel;
import org.jxen.system.TestGuestKernel;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.testing.Await;

/**
 * Every malformed tx request of Linux netback's table on a real ring: the packet dropped with ERROR responses
 * (NULL for its extra-info slots), or the vif disabled (xenvif_fatal_tx_err) with nothing more served on that
 * ring; and each time the other guest's traffic still flows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedTxTest {
    Path dir;
    Host host;
    XsClient xs;
    final PipeLinks back = new PipeLinks();
    final PipeLinks front = new PipeLinks();
    final HostileNetfront hostile = new HostileNetfront();
    int bad;
    int good;
    int nextDevid;

    @BeforeAll
    void up(@TempDir Path tmp) throws Exception {
        dir = tmp;
        TestGuestKernel.KERNELS.clear();
        host = Host.start(dir, false);
        xs = host.xenstore();
        host.dom0Kernel().unload(NetBack.NAME);
        host.dom0Kernel().load(new NetBack(NetBack.Params.DEFAULT, back));
        bad = host.create(new GuestConfig("bad", 16, 1, TestGuestKernel.class.getName(), List.of(), false)).domid();
        good = host.create(new GuestConfig("good", 16, 1, TestGuestKernel.class.getName(), List.of(), false)).domid();
        TestGuestKernel.kernelOf(bad).get(60, TimeUnit.SECONDS).xenbus().frontend().register(hostile);
        Kernel g = TestGuestKernel.kernelOf(good).get(60, TimeUnit.SECONDS);
        g.load(new NetFront(new NetFront.Params(1), k -> front));
        add(good, 0);
        Await.until("the good guest connected", () -> "4".equals(read("/local/domain/0/backend/vif/" + good + "/0/state")), 60);
    }

    @AfterAll
    void down() {
        if (host != null) host.close();
    }

    private String read(String p) {
        try {
            return xs.readOrNull(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** libxl's add, by hand, with the hotplug script's report written once the backend is in InitWait. */
    private void add(int domid, int devid) throws Exception {
        String fe = "/local/domain/" + domid + "/device/vif/" + devid;
        String be = "/local/domain/0/backend/vif/" + domid + "/" + devid;
        xs.transaction(tx -> {
            tx.mkdir(fe);
            tx.setPerms(fe, XsPerms.of(new XsPerm(domid, false, false), new XsPerm(0, true, false)));
            tx.mkdir(be);
            tx.setPerms(be, XsPerms.of(new XsPerm(0, false, false), new XsPerm(domid, true, false)));
            tx.write(fe + "/backend", be);
            tx.write(fe + "/backend-id", "0");
            tx.write(fe + "/handle", Integer.toString(devid));
            tx.write(fe + "/mac", String.format("00:16:3e:00:%02x:%02x", domid, devid));
            tx.write(be + "/frontend", fe);
            tx.write(be + "/frontend-id", Integer.toString(domid));
            tx.write(be + "/online", "1");
            tx.write(be + "/script", "/bin/true");
            tx.write(be + "/handle", Integer.toString(devid));
            tx.write(be + "/mac", String.format("00:16:3e:00:%02x:%02x", domid, devid));
            tx.write(be + "/hotplug-status", "");
            tx.write(fe + "/state", "1");
            tx.write(be + "/state", "1");
            return null;
        });
        Await.until(be + " InitWait", () -> !"1".equals(read(be + "/state")), 60);
        xs.write(be + "/hotplug-status", "connected");
    }

    /** A fresh hostile device (a disabled vif serves nothing more). */
    private HostileNetfront.Conn fresh() throws Exception {
        int devid = nextDevid++;
        add(bad, devid);
        HostileNetfront.Conn c;
        try {
            c = hostile.conn(devid).get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("device " + devid + " did not connect; dom0: " + host.dom0Kernel().log().lines()
                    + "; guest: " + TestGuestKernel.kernelOf(bad).get().log().lines());
        }
        Await.until("backend Connected", () -> "4".equals(read("/local/domain/0/backend/vif/" + bad + "/" + devid + "/state")), 60);
        return c;
    }

    private static void req(HostileNetfront.Conn c, int page, int off, int flags, int id, int size) {
        new NetifTxRequest().wrap(c.tx.nextRequest()).set(page < 0 ? 0x7fff0000 : c.refs[page], off, flags, id, size);
    }

    /** The next {@code n} responses as "id:status" ("-:status" for an extra-info slot: its id is not written). */
    private List<String> responses(HostileNetfront.Conn c, int n, int... extraSlots) throws InterruptedException {
        Await.until(n + " tx responses", () -> c.tx.unconsumedResponses() >= n, 60);
        List<String> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Netif.TX_ENTRY_SIZE);
            for (int i = 0; i < n; i++) {
                c.tx.copyNextResponse(s);
                NetifTxResponse r = new NetifTxResponse().wrap(s);
                boolean extra = false;
                for (int e : extraSlots) extra |= e == i;
                out.add((extra ? "-" : Integer.toString(r.id())) + ":" + r.status());
            }
        }
        return out;
    }

    private void assertFatal(HostileNetfront.Conn c, String reason) throws Exception {
        String vif = "vif" + bad + "." + (nextDevid - 1);
        Await.until("the vif disabled", () -> host.dom0Kernel().log().lines().stream()
                .anyMatch(l -> l.endsWith(vif + ": fatal error; disabling device")), 60);
        assertThat(host.dom0Kernel().log().lines()).anyMatch(l -> l.contains(vif + ": " + reason));
        // Nothing more is served on that ring: a good packet pushed now is still unanswered after the other guest's
        // frame went all the way through.
        req(c, 0, 0, 0, 99, 60);
        c.push();
        otherGuestUnaffected();
        assertThat(c.tx.layout().rspProd()).isEqualTo(c.tx.rspCons());
    }

    private void otherGuestUnaffected() throws Exception {
        byte[] f = new byte[1514];
        f[0] = 0x42;
        front.links.get("eth0").inject(f);
        assertThat(back.links.get("vif" + good + ".0").toStack.poll(60, TimeUnit.SECONDS)).isEqualTo(f);
    }

    private void assertDropped(HostileNetfront.Conn c, List<String> expected, int... extraSlots) throws Exception {
        assertThat(responses(c, expected.size(), extraSlots)).containsExactlyElementsOf(expected);
        assertThat(back.links.get("vif" + bad + "." + (nextDevid - 1)).toStack).isEmpty();
        otherGuestUnaffected();
    }

    /** A 5000-byte TCP/IPv4 frame in two slots: 3000 bytes at offset 100 of page 0, 2000 at the start of page 1. */
    private static byte[] gsoPacket(HostileNetfront.Conn c, int csumFlags) {
        byte[] f = TestFrames.ipv4(5000, TestFrames.TCP, 5000);
        MemorySegment.copy(f, 0, c.pages[0], java.lang.foreign.ValueLayout.JAVA_BYTE, 100, 3000);
        MemorySegment.copy(f, 3000, c.pages[1], java.lang.foreign.ValueLayout.JAVA_BYTE, 0, 2000);
        req(c, 0, 100, Netif.TXF_MORE_DATA | Netif.TXF_EXTRA_INFO | csumFlags, 1, 5000);
        new NetifExtraInfo().wrap(c.tx.nextRequest()).setGso(0, 1448, Netif.GSO_TYPE_TCPV4, 0);
        req(c, 1, 0, 0, 2, 5000 - 3000);
        return f;
    }

    @Test
    void wellFormedPacketsAreAnsweredOkayAndNullForExtras() throws Exception {
        HostileNetfront.Conn c = fresh();
        byte[] f = gsoPacket(c, Netif.TXF_CSUM_BLANK | Netif.TXF_DATA_VALIDATED);
        // The first slot's own length is 5000 - 2000 = 3000 at offset 100: within the page.
        c.push();
        assertThat(responses(c, 3, 1)).containsExactly("1:0", "-:1", "2:0");
        PipeLinks.Pipe vif = back.links.get("vif" + bad + "." + (nextDevid - 1));
        assertThat(vif.toStack.poll(60, TimeUnit.SECONDS)).isEqualTo(f);
        assertThat(Offload.toString(vif.offloads.poll())).isEqualTo("partial gso tcpv4/1448");
    }

    @Test
    void gsoWithoutCsumBlankGetsThePseudoHeaderSumAsLinuxChecksumSetup() throws Exception {
        HostileNetfront.Conn c = fresh();
        byte[] f = gsoPacket(c, 0);
        c.push();
        assertThat(responses(c, 3, 1)).containsExactly("1:0", "-:1", "2:0");
        PipeLinks.Pipe vif = back.links.get("vif" + bad + "." + (nextDevid - 1));
        byte[] out = vif.toStack.poll(60, TimeUnit.SECONDS);
        // 10.0.0.1 + 10.0.0.2 + TCP (6) + TCP length 4966, as 16-bit words: 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 +
        // 4966 = 0x276f, in the TCP checksum field (frame bytes 50-51); nothing else changes.
        f[50] = 0x27;
        f[51] = 0x6f;
        assertThat(out).isEqualTo(f);
        assertThat(Offload.toString(vif.offloads.poll())).isEqualTo("partial gso tcpv4/1448");
    }

    @Test
    void aGsoPacketThatIsNotTcpIsAnsweredOkayButNotPassedOn() throws Exception {
        HostileNetfront.Conn c = fresh();
        c.pages[0].fill((byte) 7); // no IP header: skb_checksum_setup fails, xenvif_tx_submit drops it
        req(c, 0, 0, Netif.TXF_EXTRA_INFO | Netif.TXF_CSUM_BLANK, 1, 1000);
        new NetifExtraInfo().wrap(c.tx.nextRequest()).setGso(0, 1448, Netif.GSO_TYPE_TCPV4, 0);
        c.push();
        assertThat(responses(c, 2, 1)).containsExactly("1:0", "-:1");
        otherGuestUnaffected();
        assertThat(back.links.get("vif" + bad + "." + (nextDevid - 1)).toStack).isEmpty();
    }

    @Test
    void nineteenFragmentsAreDroppedWithErrorForEverySlot() throws Exception {
        HostileNetfront.Conn c = fresh();
        // xenvif_count_requests counts the fragments after the first slot and checks before reading each: 18 of
        // them (19 slots) pass, the 19th finds 18 counted (XEN_NETBK_LEGACY_SLOTS_MAX) and the packet is dropped.
        req(c, 0, 0, Netif.TXF_MORE_DATA, 0, 19 * 100);
        for (int i = 1; i < 19; i++) req(c, i, 0, i < 18 ? Netif.TXF_MORE_DATA : 0, i, 100);
        c.push();
        assertThat(responses(c, 19)).allMatch(r -> r.endsWith(":0"));
        assertThat(back.links.get("vif" + bad + "." + (nextDevid - 1)).toStack.poll(60, TimeUnit.SECONDS)).hasSize(1900);
        List<String> expect = new ArrayList<>();
        req(c, 0, 0, Netif.TXF_MORE_DATA, 0, 20 * 100);
        expect.add("0:-1");
        for (int i = 1; i < 20; i++) {
            req(c, i, 0, i < 19 ? Netif.TXF_MORE_DATA : 0, i, 100);
            expect.add(i + ":-1");
        }
        c.push();
        assertDropped(c, expect);
        // Still served: the next good packet goes through.
        req(c, 0, 0, 0, 50, 60);
        c.push();
        assertThat(responses(c, 1)).containsExactly("50:0");
    }

    @Test
    void aLaterSlotBiggerThanWhatIsLeftIsDropped() throws Exception {
        HostileNetfront.Conn c = fresh();
        req(c, 0, 0, Netif.TXF_MORE_DATA, 3, 100);
        req(c, 1, 0, 0, 4, 200);
        c.push();
        assertDropped(c, List.of("3:-1", "4:-1"));
    }

    @Test
    void aPacketShorterThanAnEthernetHeaderIsDropped() throws Exception {
        HostileNetfront.Conn c = fresh();
        req(c, 0, 0, Netif.TXF_EXTRA_INFO, 5, 13);
        new NetifExtraInfo().wrap(c.tx.nextRequest()).setGso(0, 1448, Netif.GSO_TYPE_TCPV6, 0);
        c.push();
        assertDropped(c, List.of("5:-1", "-:1"), 1);
    }

    @Test
    void aGrantThatCannotBeCopiedIsAnError() throws Exception {
        HostileNetfront.Conn c = fresh();
        req(c, -1, 0, 0, 6, 60);
        c.push();
        assertDropped(c, List.of("6:-1"));
    }

    @Test
    void impossibleNumberOfRequestsIsFatal() throws Exception {
        HostileNetfront.Conn c = fresh();
        c.tx.layout().setReqProd(c.tx.reqProdPvt() + 300);
        c.dev.notify(c.rings.queues().getFirst().port("tx"));
        assertFatal(c, "Impossible number of requests");
    }

    @Test
    void missingExtraInfoIsFatal() throws Exception {
        HostileNetfront.Conn c = fresh();
        req(c, 0, 0, Netif.TXF_EXTRA_INFO, 1, 60);
        c.push();
        assertFatal(c, "Missing extra info");
    }

    @Test
    void invalidExtraTypesAreFatal() throws Exception {
        for (int type : new int[] {Netif.EXTRA_TYPE_NONE, Netif.EXTRA_TYPE_MAX}) {
            HostileNetfront.Conn c = fresh();
            req(c, 0, 0, Netif.TXF_EXTRA_INFO, 1, 60);
            new NetifExtraInfo().wrap(c.tx.nextRequest()).setType(type, 0);
            c.push();
            assertFatal(c, "Invalid extra type: " + type);
        }
    }

    @Test
    void badGsoIsFatal() throws Exception {
        HostileNetfront.Conn c = fresh();
        req(c, 0, 0, Netif.TXF_EXTRA_INFO, 1, 60);
        new NetifExtraInfo().wrap(c.tx.nextRequest()).setGso(0, 0, Netif.GSO_TYPE_TCPV4, 0);
        c.push();
        assertFatal(c, "GSO size must not be zero.");
        c = fresh();
        req(c, 0, 0, Netif.TXF_EXTRA_INFO, 1, 60);
        new NetifExtraInfo().wrap(c.tx.nextRequest()).setGso(0, 1448, 3, 0);
        c.push();
        assertFatal(c, "Bad GSO type 3.");
    }

    @Test
    void moreDataOnTheLastRequestIsFatal() throws Exception {
        HostileNetfront.Conn c = fresh();
        req(c, 0, 0, Netif.TXF_MORE_DATA, 1, 200);
        req(c, 1, 0, Netif.TXF_MORE_DATA, 2, 100);
        c.push();
        assertFatal(c, "Asked for 1 slots but exceeds this limit");
    }

    @Test
    void twentyOneFragmentsAreFatal() throws Exception {
        HostileNetfront.Conn c = fresh();
        // The check is made before each fragment is read: the 21st finds 20 counted, fatal_skb_slots.
        req(c, 0, 0, Netif.TXF_MORE_DATA, 0, 22 * 60);
        for (int i = 1; i < 22; i++) req(c, i, 0, i < 21 ? Netif.TXF_MORE_DATA : 0, i, 60);
        c.push();
        assertFatal(c, "Malicious frontend using 20 slots, threshold 20");
    }

    @Test
    void crossingAPageIsFatal() throws Exception {
        HostileNetfront.Conn c = fresh();
        req(c, 0, 0, Netif.TXF_MORE_DATA, 1, 300);
        req(c, 1, 4000, 0, 2, 200);
        c.push();
        assertFatal(c, "Cross page boundary, txp->offset: 4000, size: 200");
        c = fresh();
        req(c, 0, 4000, 0, 1, 200);
        c.push();
        assertFatal(c, "Cross page boundary, txreq.offset: 4000, size: 200");
    }
}
