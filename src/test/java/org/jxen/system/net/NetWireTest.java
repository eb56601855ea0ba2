package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.drivers.net.back.NetBack;
import org.jxen.drivers.net.front.NetFront;
import org.jxen.kernel.Kernel;
import org.jxen.system.TestGuestKernel;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.testing.Await;

/**
 * netfront and netback over real rings, grants and event channels, with in-memory links instead of TAP devices:
 * the handshake keys exactly as Linux's drivers and libxl write them, and frames of every size both ways.
 */
class NetWireTest {
    @TempDir
    Path dir;
    Host host;
    XsClient xs;
    PipeLinks back = new PipeLinks();
    PipeLinks front = new PipeLinks();
    int domid;

    static final String FE = "/local/domain/%d/device/vif/0";
    static final String BE = "/local/domain/0/backend/vif/%d/0";

    @BeforeEach
    void up() throws Exception {
        TestGuestKernel.KERNELS.clear();
        host = Host.start(dir, false);
        xs = host.xenstore();
        host.dom0Kernel().unload(NetBack.NAME);
        host.dom0Kernel().load(new NetBack(NetBack.Params.DEFAULT, back));
        domid = host.create(new GuestConfig("g1", 16, 1, TestGuestKernel.class.getName(), List.of(), false)).domid();
        Kernel guest = TestGuestKernel.kernelOf(domid).get(60, TimeUnit.SECONDS);
        guest.load(new NetFront(new NetFront.Params(2), k -> front));
    }

    @AfterEach
    void down() {
        host.close();
    }

    private String read(String path) {
        try {
            return xs.readOrNull(path);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private String fe() {
        return FE.formatted(domid);
    }

    private String be() {
        return BE.formatted(domid);
    }

    /** libxl's add by hand (its keys, one transaction); the hotplug script's report written by the test. */
    private void attach() throws Exception {
        String fe = fe();
        String be = be();
        int d = domid;
        xs.transaction(tx -> {
            tx.mkdir(fe);
            tx.setPerms(fe, XsPerms.of(new XsPerm(d, false, false), new XsPerm(0, true, false)));
            tx.mkdir(be);
            tx.setPerms(be, XsPerms.of(new XsPerm(0, false, false), new XsPerm(d, true, false)));
            tx.write(fe + "/backend", be);
            tx.write(fe + "/backend-id", "0");
            tx.write(fe + "/handle", "0");
            tx.write(fe + "/mac", "00:16:3e:01:02:03");
            tx.write(fe + "/trusted", "1");
            tx.write(be + "/frontend", fe);
            tx.write(be + "/frontend-id", Integer.toString(d));
            tx.write(be + "/online", "1");
            tx.write(be + "/script", "/etc/xen/scripts/vif-bridge");
            tx.write(be + "/mac", "00:16:3e:01:02:03");
            tx.write(be + "/bridge", "xenbr0");
            tx.write(be + "/handle", "0");
            tx.write(be + "/type", "vif");
            tx.write(be + "/hotplug-status", "");
            tx.write(fe + "/state", "1");
            tx.write(be + "/state", "1");
            return null;
        });
        // netback writes Connected only once the hotplug script reported; netfront is Connected before that.
        Await.until("frontend Connected", () -> "4".equals(read(fe() + "/state")), 30);
        assertThat(xs.readOrNull(be() + "/state")).isEqualTo("2");
        xs.write(be() + "/hotplug-status", "connected");
        Await.until("backend Connected", () -> "4".equals(read(be() + "/state")), 30);
    }

    /** libxl's remove by hand: online 0 and Closing, wait for Closed, both directories go. */
    private void detach() throws Exception {
        xs.transaction(tx -> {
            tx.write(be() + "/online", "0");
            tx.write(be() + "/state", "5");
            return null;
        });
        Await.until("backend Closed", () -> "6".equals(read(be() + "/state")), 30);
        xs.rm(fe());
        xs.rm(be());
    }

    @Test
    void handshakeKeysAsLinuxWritesThem() throws Exception {
        attach();
        for (var e : Map.of("feature-sg", "1", "feature-gso-tcpv4", "1", "feature-gso-tcpv6", "1",
                "feature-ipv6-csum-offload", "1", "feature-rx-copy", "1", "feature-rx-flip", "0",
                "feature-multicast-control", "1", "feature-dynamic-multicast-control", "1",
                "feature-split-event-channels", "1", "multi-queue-max-queues", "8").entrySet()) {
            assertThat(xs.readOrNull(be() + "/" + e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
        }
        for (var e : Map.of("request-rx-copy", "1", "feature-rx-notify", "1", "feature-sg", "1",
                "feature-gso-tcpv4", "1", "feature-gso-tcpv6", "1", "feature-ipv6-csum-offload", "1",
                "multi-queue-num-queues", "2").entrySet()) {
            assertThat(xs.readOrNull(fe() + "/" + e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
        }
        for (int q = 0; q < 2; q++) {
            String qd = fe() + "/queue-" + q;
            assertThat(xs.directory(qd)).containsExactlyInAnyOrder("tx-ring-ref", "rx-ring-ref", "event-channel-tx",
                    "event-channel-rx");
            assertThat(xs.readOrNull(qd + "/tx-ring-ref")).matches("[0-9]+");
        }
        assertThat(xs.readOrNull(fe() + "/tx-ring-ref")).isNull();
        assertThat(back.links.keySet()).containsExactly("vif" + domid + ".0");
        assertThat(back.links.get("vif" + domid + ".0").mac).containsExactly(0xfe, 0xff, 0xff, 0xff, 0xff, 0xff);
        assertThat(front.links.get("eth0").mac).containsExactly(0x00, 0x16, 0x3e, 0x01, 0x02, 0x03);
    }

    @Test
    void framesOfEverySizeBothWays() throws Exception {
        attach();
        PipeLinks.Pipe vif = back.links.get("vif" + domid + ".0");
        PipeLinks.Pipe eth = front.links.get("eth0");
        Random r = new Random(15);
        for (int len : new int[] {14, 60, 1514, 4096, 4097, 9014, 65535}) {
            byte[] f = new byte[len];
            r.nextBytes(f);
            eth.inject(f); // guest transmits
            assertThat(vif.toStack.poll(30, TimeUnit.SECONDS)).as("tx %d", len).isEqualTo(f);
            vif.inject(f); // dom0 sends to the guest
            assertThat(eth.toStack.poll(30, TimeUnit.SECONDS)).as("rx %d", len).isEqualTo(f);
        }
        // Many frames, more than a ring's worth, in order per flow.
        for (int i = 0; i < 1000; i++) {
            byte[] f = new byte[100 + i];
            f[20] = (byte) i;
            eth.inject(f);
            vif.inject(f);
        }
        for (int i = 0; i < 1000; i++) {
            assertThat(vif.toStack.poll(30, TimeUnit.SECONDS)).hasSize(100 + i);
            assertThat(eth.toStack.poll(30, TimeUnit.SECONDS)).hasSize(100 + i);
        }
    }

    @Test
    void detachLeavesNothingBehind() throws Exception {
        attach();
        detach();
        assertThat(xs.exists(fe())).isFalse();
        // The interface goes when the device is unregistered, which follows the Closed state.
        Await.until("the vif's link closed", () -> back.links.get("vif" + domid + ".0").closed, 30);
        Await.until("front.links.get(\"eth0\").closed", () -> front.links.get("eth0").closed, 30);
        Await.until("host.dom0Kernel().xenbusResources().snapshot().isEmpty()", () -> host.dom0Kernel().xenbusResources().snapshot().isEmpty(), 30);
        Await.until("TestGuestKernel.kernelOf(domid).get().xenbusResources().snap", () -> TestGuestKernel.kernelOf(domid).join().xenbusResources().snapshot().isEmpty(), 30);
    }
}
