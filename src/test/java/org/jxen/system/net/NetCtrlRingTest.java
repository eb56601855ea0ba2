package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.drivers.net.Netif;
import org.jxen.drivers.net.back.NetBack;
import org.jxen.drivers.net.front.NetFront;
import org.jxen.drivers.net.front.NetfrontCtrl;
import org.jxen.drivers.net.front.NetfrontCtrl.Answer;
import org.jxen.kernel.Kernel;
import org.jxen.system.TestGuestKernel;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.testing.Await;

/**
 * The control ring over a real ring page, grants and an event channel: netback advertises feature-ctrl-ring,
 * netfront connects ctrl-ring-ref and event-channel-ctrl, and each hash command of netif.h gets Linux netback's
 * answer (status and data), including the refusals; key and mapping arrive by grant copy, as the debugfs-style
 * dump shows.
 */
class NetCtrlRingTest {
    @TempDir
    Path dir;
    Host host;
    XsClient xs;
    NetBack nb;
    NetFront nf;
    int domid;

    @BeforeEach
    void up() throws Exception {
        TestGuestKernel.KERNELS.clear();
        host = Host.start(dir, false);
        xs = host.xenstore();
        nb = new NetBack(NetBack.Params.DEFAULT, new PipeLinks());
        host.dom0Kernel().unload(NetBack.NAME);
        host.dom0Kernel().load(nb);
        domid = host.create(new GuestConfig("g1", 16, 1, TestGuestKernel.class.getName(), List.of(), false)).domid();
        Kernel guest = TestGuestKernel.kernelOf(domid).get(60, TimeUnit.SECONDS);
        nf = new NetFront(new NetFront.Params(2, true, NetFront.Params.FEATURES), k -> new PipeLinks());
        guest.load(nf);
    }

    @AfterEach
    void down() {
        host.close();
    }

    private static void is(Answer a, int status, int data) {
        assertThat(a).isEqualTo(new Answer(status, data));
    }

    private static byte[] u32s(int... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) b.putInt(x);
        return b.array();
    }

    @Test
    void hashCommandsAnsweredAsLinuxNetback() throws Exception {
        VifHandshake vif = new VifHandshake(xs, domid, 0);
        vif.attach();
        assertThat(xs.readOrNull(vif.be() + "/feature-ctrl-ring")).isEqualTo("1");
        assertThat(xs.readOrNull(vif.fe() + "/ctrl-ring-ref")).matches("[0-9]+");
        assertThat(xs.readOrNull(vif.fe() + "/event-channel-ctrl")).matches("[0-9]+");
        NetfrontCtrl c = nf.ctrl("eth0");
        assertThat(c).isNotNull();
        String name = "vif" + domid + ".0";
        Await.until("netback's control ring", () -> nb.ctrlDump(name) != null, 30);
        int ok = Netif.CTRL_STATUS_SUCCESS;
        int inval = Netif.CTRL_STATUS_INVALID_PARAMETER;
        int nosup = Netif.CTRL_STATUS_NOT_SUPPORTED;

        is(c.call(Netif.CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0), ok, 128);
        // No algorithm yet: no flags to get, none may be set.
        is(c.call(Netif.CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0), nosup, 0);
        is(c.call(Netif.CTRL_TYPE_SET_HASH_FLAGS, 1, 0, 0), inval, 0);
        is(c.call(Netif.CTRL_TYPE_SET_HASH_ALGORITHM, 2, 0, 0), inval, 0);
        is(c.call(Netif.CTRL_TYPE_SET_HASH_ALGORITHM, Netif.CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0), ok, 0);
        is(c.call(Netif.CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0), ok, 0xF);
        is(c.call(Netif.CTRL_TYPE_SET_HASH_FLAGS, 0x10, 0, 0), inval, 0);
        is(c.call(Netif.CTRL_TYPE_SET_HASH_FLAGS, 0x3, 0, 0), ok, 0);

        byte[] key = new byte[40];
        for (int i = 0; i < key.length; i++) key[i] = (byte) (0xa0 + i);
        int keyRef = c.grant(key);
        is(c.call(Netif.CTRL_TYPE_SET_HASH_KEY, keyRef, 41, 0), inval, 0);
        is(c.call(Netif.CTRL_TYPE_SET_HASH_KEY, 123456, 4, 0), inval, 0); // a grant that cannot be copied
        is(c.call(Netif.CTRL_TYPE_SET_HASH_KEY, keyRef, 12, 0), ok, 0); // 12 bytes, the other 28 zeroed

        is(c.call(Netif.CTRL_TYPE_SET_HASH_MAPPING_SIZE, 129, 0, 0), inval, 0);
        is(c.call(Netif.CTRL_TYPE_SET_HASH_MAPPING_SIZE, 8, 0, 0), ok, 0);
        int good = c.grant(u32s(1, 0, 1, 1));
        int bad = c.grant(u32s(1, 2)); // the vif has two queues: 2 is none of them
        is(c.call(Netif.CTRL_TYPE_SET_HASH_MAPPING, good, 4, 2), ok, 0);
        is(c.call(Netif.CTRL_TYPE_SET_HASH_MAPPING, bad, 2, 0), inval, 0); // refused whole: the table stays
        is(c.call(Netif.CTRL_TYPE_SET_HASH_MAPPING, good, 4, 6), inval, 0); // past the table's 8 entries
        is(c.call(Netif.CTRL_TYPE_SET_HASH_MAPPING, good, 2, -1), inval, 0); // off + len wraps
        is(c.call(Netif.CTRL_TYPE_SET_HASH_MAPPING, good, 1025, 0), inval, 0);

        for (int type : new int[] {Netif.CTRL_TYPE_INVALID, Netif.CTRL_TYPE_GET_GREF_MAPPING_SIZE,
                Netif.CTRL_TYPE_ADD_GREF_MAPPING, Netif.CTRL_TYPE_DEL_GREF_MAPPING, 11, 0xFFFF}) {
            is(c.call(type, 1, 2, 3), nosup, 0);
        }
        assertThat(nb.ctrlDump(name)).isEqualTo("""
                Hash Algorithm: TOEPLITZ

                Hash Flags:
                - IPv4
                - IPv4 + TCP

                Hash Key:
                [ 0 -  7]: a0 a1 a2 a3 a4 a5 a6 a7\s
                [ 8 - 15]: a8 a9 aa ab 00 00 00 00\s
                [16 - 23]: 00 00 00 00 00 00 00 00\s
                [24 - 31]: 00 00 00 00 00 00 00 00\s
                [32 - 39]: 00 00 00 00 00 00 00 00\s

                Hash Mapping:
                [   0 -    7]:    0    0    1    0    1    1    0    0\s
                """);
        // Setting the size again clears the table; algorithm NONE hides the rest.
        is(c.call(Netif.CTRL_TYPE_SET_HASH_MAPPING_SIZE, 0, 0, 0), ok, 0);
        is(c.call(Netif.CTRL_TYPE_SET_HASH_ALGORITHM, Netif.CTRL_HASH_ALGORITHM_NONE, 0, 0), ok, 0);
        assertThat(nb.ctrlDump(name)).isEqualTo("Hash Algorithm: NONE\n");
        vif.detach();
        Await.until("dom0's ring mapping and channel given back",
                () -> host.dom0Kernel().xenbusResources().snapshot().isEmpty(), 30);
    }

    @Test
    void aFrontendWithoutTheOptionConnectsNoControlRing() throws Exception {
        Kernel guest = TestGuestKernel.kernelOf(domid).get();
        guest.unload(NetFront.NAME);
        guest.load(new NetFront(new NetFront.Params(1), k -> new PipeLinks()));
        VifHandshake vif = new VifHandshake(xs, domid, 0);
        vif.attach();
        assertThat(xs.readOrNull(vif.fe() + "/ctrl-ring-ref")).isNull();
        assertThat(nb.ctrlDump("vif" + domid + ".0")).isNull();
        vif.detach();
    }
}
