package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.cli.XlResult;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.testing.Await;

/**
 * Debian's own hotplug scripts, unchanged, drive jxen: {@code /etc/xen/scripts/vif-bridge} and
 * {@code /etc/xen/scripts/block} of the package xen-utils-common, fetched with {@code apt-get download} and
 * unpacked into a temporary directory (not installed). A guest whose vif names Debian's vif-bridge is on xenbr0
 * and pings the other guest; its disk, named with Debian's block, is a loop device over an image file that the
 * guest reads byte-identical; destroying the guest runs the scripts' offline/remove, which free the loop device.
 * The scripts run against Debian's xenstore-read/-write (xenstore-utils) on the host's socket. The host runs in
 * a namespace of its own with tmpfs on /run and /var/log (with the xen directory the package makes), where the
 * scripts keep their locks and log.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DebianHotplugScriptsTest {
    Path dir;
    Path scripts;
    NamespacedHost host;

    @BeforeAll
    void up(@TempDir Path tmp) throws Exception {
        assumeTrue(NamespacedHost.available(), "needs root and ip netns");
        dir = tmp;
        Path debs = Files.createDirectories(dir.resolve("debs"));
        XlResult dl = NamespacedHost.exec(List.of("sh", "-c", "cd " + debs + " && apt-get download xen-utils-common"));
        assertThat(dl.code()).as("apt-get download xen-utils-common (the package index: apt-get update): %s%s",
                dl.out(), dl.err()).isZero();
        Path deb;
        try (Stream<Path> s = Files.list(debs)) {
            deb = s.filter(p -> p.getFileName().toString().endsWith(".deb")).findFirst().orElseThrow();
        }
        NamespacedHost.run("dpkg-deb", "-x", deb.toString(), dir.resolve("root").toString());
        scripts = dir.resolve("root/etc/xen/scripts");
        assertThat(scripts.resolve("vif-bridge")).isExecutable();
        assertThat(scripts.resolve("block")).isExecutable();
        host = new NamespacedHost(dir, List.of("sh", "-c",
                "mount -t tmpfs jxen-run /run && mount -t tmpfs jxen-log /var/log && mkdir /var/log/xen && exec \"$@\"", "sh"));
    }

    @AfterAll
    void down() throws Exception {
        if (host != null) host.close();
    }

    private XlResult create(String name, String body) throws Exception {
        Path cfg = dir.resolve(name + ".cfg");
        Files.writeString(cfg, "name = '" + name + "'\n" + body);
        return host.xl("create", cfg.toString());
    }

    @Test
    void debiansVifBridgeAndBlockScriptsDriveNetbackAndBlkback() throws Exception {
        Path img = dir.resolve("disk.img");
        byte[] data = new byte[4 << 20];
        new Random(4).nextBytes(data);
        Files.write(img, data);
        XlResult g1 = create("g1", "vif = [ 'mac=00:16:3e:00:00:11, ip=10.0.0.11/24, script=" + scripts.resolve("vif-bridge")
                + "' ]\ndisk = [ 'format=raw, vdev=xvda, access=rw, script=" + scripts.resolve("block") + ", target=" + img + "' ]\n");
        assertThat(g1.code()).as(g1.out() + g1.err()).isZero();
        XlResult g2 = create("g2", "vif = [ 'mac=00:16:3e:00:00:12, ip=10.0.0.12/24' ]\n");
        assertThat(g2.code()).as(g2.err()).isZero();

        String vifBe = "/local/domain/0/backend/vif/1/0";
        String vbdBe = "/local/domain/0/backend/vbd/1/51712";
        String loop;
        try (XsClient xs = new XsClient(UnixSocketChannel.connect(host.runDir().resolve("xenstored/socket")))) {
            assertThat(xs.readOrNull(vifBe + "/script")).isEqualTo(scripts.resolve("vif-bridge").toString());
            assertThat(xs.readOrNull(vifBe + "/hotplug-status")).isEqualTo("connected");
            assertThat(xs.readOrNull(vifBe + "/state")).isEqualTo("4");
            assertThat(xs.readOrNull(vbdBe + "/script")).isEqualTo(scripts.resolve("block").toString());
            assertThat(xs.readOrNull(vbdBe + "/hotplug-status")).isEqualTo("connected");
            loop = xs.readOrNull(vbdBe + "/physical-device-path");
            assertThat(loop).startsWith("/dev/loop");
            assertThat(xs.readOrNull(vbdBe + "/node")).isEqualTo(loop);
            assertThat(xs.readOrNull(vbdBe + "/physical-device")).matches("[0-9a-f]+:[0-9a-f]+");
            assertThat(xs.readOrNull(vbdBe + "/sectors")).isEqualTo(Integer.toString(data.length / 512));
        }
        assertThat(NamespacedHost.exec(List.of("losetup", loop)).out()).contains(img.toString());
        assertThat(host.inNs("bridge", "link").out()).contains("vif1.0:").contains("master xenbr0");

        XlResult ping = host.xl("exec", "g1", "--", "ping", "-c", "3", "-W", "10", "10.0.0.12");
        assertThat(ping.out()).as(ping.err()).contains("3 received");
        XlResult sum = host.xl("exec", "g1", "--", "sha256sum", "/dev/xvda");
        assertThat(sum.out()).as(sum.err()).startsWith(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)));

        XlResult d = host.xl("destroy", "g1");
        assertThat(d.code()).as(d.err()).isZero();
        // block remove: losetup -d; vif-bridge offline: the port leaves the bridge with the vif.
        Await.until("the loop device freed", () -> {
            try {
                return !NamespacedHost.exec(List.of("losetup", "-a")).out().contains(img.toString());
            } catch (Exception e) {
                return false;
            }
        }, 60);
        assertThat(host.links()).doesNotContain("vif1.0");
    }
}
