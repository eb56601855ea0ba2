package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.drivers.net.Netif;
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
 * Checksum offload and GSO through netfront and netback over real rings, with in-memory links: a 64 KiB TCP
 * super-frame with a partial checksum goes both ways byte for byte with its offload; the interfaces are offered
 * what the other end advertised; and netback's rx responses for a GSO frame, read raw off the ring of a frontend
 * the test drives, are Linux's: csum and extra-info flags on the first slot, the GSO extra in the next.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NetOffloadTest {
    Path dir;
    Host host;
    XsClient xs;
    final PipeLinks back = new PipeLinks();
    final PipeLinks front = new PipeLinks();
    final HostileNetfront raw = new HostileNetfront();
    int guest;
    int rawGuest;

    @BeforeAll
    void up(@TempDir Path tmp) throws Exception {
        dir = tmp;
        TestGuestKernel.KERNELS.clear();
        host = Host.start(dir, false);
        xs = host.xenstore();
        host.dom0Kernel().unload(NetBack.NAME);
        host.dom0Kernel().load(new NetBack(NetBack.Params.DEFAULT, back));
        guest = host.create(new GuestConfig("g", 16, 1, TestGuestKernel.class.getName(), List.of(), false)).domid();
        rawGuest = host.create(new GuestConfig("raw", 16, 1, TestGuestKernel.class.getName(), List.of(), false)).domid();
        Kernel g = TestGuestKernel.kernelOf(guest).get(60, TimeUnit.SECONDS);
        g.load(new NetFront(new NetFront.Params(2), k -> front));
        TestGuestKernel.kernelOf(rawGuest).get(60, TimeUnit.SECONDS).xenbus().frontend().register(raw);
        add(guest);
        add(rawGuest);
        Await.until("both vifs connected", () -> "4".equals(read("/local/domain/0/backend/vif/" + guest + "/0/state"))
                && "4".equals(read("/local/domain/0/backend/vif/" + rawGuest + "/0/state")), 60);
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

    /** libxl's add by hand, the hotplug script's report written once the backend is in InitWait. */
    private void add(int domid) throws Exception {
        String fe = "/local/domain/" + domid + "/device/vif/0";
        String be = "/local/domain/0/backend/vif/" + domid + "/0";
        xs.transaction(tx -> {
            tx.mkdir(fe);
            tx.setPerms(fe, XsPerms.of(new XsPerm(domid, false, false), new XsPerm(0, true, false)));
            tx.mkdir(be);
            tx.setPerms(be, XsPerms.of(new XsPerm(0, false, false), new XsPerm(domid, true, false)));
            tx.write(fe + "/backend", be);
            tx.write(fe + "/backend-id", "0");
            tx.write(fe + "/handle", "0");
            tx.write(fe + "/mac", String.format("00:16:3e:00:%02x:00", domid));
            tx.write(be + "/frontend", fe);
            tx.write(be + "/frontend-id", Integer.toString(domid));
            tx.write(be + "/online", "1");
            tx.write(be + "/script", "/bin/true");
            tx.write(be + "/handle", "0");
            tx.write(be + "/mac", String.format("00:16:3e:00:%02x:00", domid));
            tx.write(be + "/hotplug-status", "");
            tx.write(fe + "/state", "1");
            tx.write(be + "/state", "1");
            return null;
        });
        Await.until(be + " InitWait", () -> !"1".equals(read(be + "/state")), 60);
        xs.write(be + "/hotplug-status", "connected");
    }

    @Test
    void theInterfacesAreOfferedWhatTheOtherEndAdvertised() {
        // netfront: netback advertises sg, gso-tcpv4/6 and ipv6-csum-offload; netback: netfront the same.
        assertThat(front.links.get("eth0").offered).containsExactly(true, true, true);
        assertThat(back.links.get("vif" + guest + ".0").offered).containsExactly(true, true, true);
        // The raw frontend advertises sg and gso-tcpv4 only (no ipv6-csum-offload): no TSO for IPv6.
        assertThat(back.links.get("vif" + rawGuest + ".0").offered).containsExactly(true, true, false);
    }

    @Test
    void tcpSuperFramesWithPartialChecksumsGoBothWaysByteForByte() throws Exception {
        PipeLinks.Pipe vif = back.links.get("vif" + guest + ".0");
        PipeLinks.Pipe eth = front.links.get("eth0");
        for (int len : new int[] {60, 1514, 9014, 65535}) {
            byte[] v4 = TestFrames.ipv4(len, TestFrames.TCP, len);
            int gso = len > 1514 ? Netif.GSO_TYPE_TCPV4 : Netif.GSO_TYPE_NONE;
            int o = Offload.of(true, false, gso, gso == 0 ? 0 : 1448);
            eth.inject(v4.clone(), o); // the guest's stack sends a super-frame, checksum left to the device
            assertThat(vif.toStack.poll(30, TimeUnit.SECONDS)).as("tx %d", len).isEqualTo(v4);
            // netfront says csum_blank | data_validated; netback hands it on partial (and validated)
            assertThat(vif.offloads.poll()).as("tx %d", len).isEqualTo(o | Offload.VALID);
            vif.inject(v4.clone(), o);
            assertThat(eth.toStack.poll(30, TimeUnit.SECONDS)).as("rx %d", len).isEqualTo(v4);
            assertThat(eth.offloads.poll()).as("rx %d", len).isEqualTo(o | Offload.VALID);
        }
        byte[] v6 = TestFrames.ipv6(60000, TestFrames.TCP, 6);
        int o6 = Offload.of(true, true, Netif.GSO_TYPE_TCPV6, 1428);
        eth.inject(v6.clone(), o6);
        assertThat(vif.toStack.poll(30, TimeUnit.SECONDS)).isEqualTo(v6);
        assertThat(Offload.toString(vif.offloads.poll())).isEqualTo("partial gso tcpv6/1428");
        vif.inject(v6.clone(), o6);
        assertThat(eth.toStack.poll(30, TimeUnit.SECONDS)).isEqualTo(v6);
        assertThat(Offload.toString(eth.offloads.poll())).isEqualTo("partial gso tcpv6/1428");
        // A checked frame stays checked, an unchecked one unchecked.
        byte[] udp = TestFrames.ipv4(200, TestFrames.UDP, 7);
        eth.inject(udp.clone(), Offload.VALID);
        assertThat(vif.toStack.poll(30, TimeUnit.SECONDS)).isEqualTo(udp);
        assertThat(vif.offloads.poll()).isEqualTo(Offload.VALID);
        vif.inject(udp.clone(), Offload.NONE);
        assertThat(eth.toStack.poll(30, TimeUnit.SECONDS)).isEqualTo(udp);
        assertThat(eth.offloads.poll()).isEqualTo(Offload.NONE);
    }

    @Test
    void netbackPutsTheGsoExtraInTheSlotAfterTheFirstRxResponse() throws Exception {
        HostileNetfront.Conn c = raw.conn(0).get(60, TimeUnit.SECONDS);
        byte[] f = TestFrames.ipv4(10000, TestFrames.TCP, 10000);
        c.postRx(4);
        back.links.get("vif" + rawGuest + ".0").inject(f, Offload.of(true, false, Netif.GSO_TYPE_TCPV4, 1448));
        Await.until("4 rx responses", () -> c.rx.unconsumedResponses() >= 4, 60);
        HexFormat hex = HexFormat.of();
        // Slot 0: id 0, offset 0, flags csum_blank|data_validated|more_data|extra_info (0x0f), 4096 bytes.
        assertThat(hex.formatHex(slot(c, 0))).isEqualTo("0000" + "0000" + "0f00" + "0010");
        // Slot 1: the GSO extra: type 1, flags 0, size 1448 (0x05a8), type TCPV4, pad 0, features 0.
        assertThat(hex.formatHex(slot(c, 1))).isEqualTo("01" + "00" + "a805" + "01" + "00" + "0000");
        // Slots 2 and 3: the rest, 4096 and 1808 bytes; more_data on all but the last.
        assertThat(hex.formatHex(slot(c, 2))).isEqualTo("0200" + "0000" + "0400" + "0010");
        assertThat(hex.formatHex(slot(c, 3))).isEqualTo("0300" + "0000" + "0000" + "1007");
        byte[] got = new byte[10000];
        MemorySegment.copy(c.rxPages[0], ValueLayout.JAVA_BYTE, 0, got, 0, 4096);
        MemorySegment.copy(c.rxPages[2], ValueLayout.JAVA_BYTE, 0, got, 4096, 4096);
        MemorySegment.copy(c.rxPages[3], ValueLayout.JAVA_BYTE, 0, got, 8192, 1808);
        assertThat(got).isEqualTo(f);
    }

    private static byte[] slot(HostileNetfront.Conn c, int i) {
        return c.rx.responseSlot(i).asSlice(0, Netif.RX_ENTRY_SIZE).toArray(ValueLayout.JAVA_BYTE);
    }
}
