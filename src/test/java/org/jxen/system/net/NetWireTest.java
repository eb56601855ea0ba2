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
import org.jxen.toolstack.DeviceSpec;
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

    private void attach() throws Exception {
        Map<String, String> benodes = Map.of("script", "/etc/xen/scripts/vif-bridge", "mac", "00:16:3e:01:02:03",
                "bridge", "xenbr0", "handle", "0", "type", "vif", "hotplug-status", "");
        Map<String, String> fenodes = Map.of("handle", "0", "mac", "00:16:3e:01:02:03", "trusted", "1");
        host.libxl().addDevice(domid, new DeviceSpec("vif", 0, 0, benodes, fenodes));
        // The hotplug script's last word; netback writes Connected only after it.
        Await.until("\"4\".equals(xs.readOrNull(fe() + \"/state\"))", () -> "4".equals(read(fe() + "/state")), 30);
        assertThat(xs.readOrNull(be() + "/state")).isEqualTo("2");
        xs.write(be() + "/hotplug-status", "connected");
        Await.until("\"4\".equals(xs.readOrNull(be() + \"/state\"))", () -> "4".equals(read(be() + "/state")), 30);
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
        host.libxl().removeDevice(domid, new DeviceSpec("vif", 0, 0));
        assertThat(xs.exists(fe())).isFalse();
        assertThat(back.links.get("vif" + domid + ".0").closed).isTrue();
        Await.until("front.links.get(\"eth0\").closed", () -> front.links.get("eth0").closed, 30);
        Await.until("host.dom0Kernel().xenbusResources().snapshot().isEmpty()", () -> host.dom0Kernel().xenbusResources().snapshot().isEmpty(), 30);
        Await.until("TestGuestKernel.kernelOf(domid).get().xenbusResources().snap", () -> TestGuestKernel.kernelOf(domid).join().xenbusResources().snapshot().isEmpty(), 30);
    }
}
