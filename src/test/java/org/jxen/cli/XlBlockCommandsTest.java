package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** xl block-attach, block-list and block-detach against a host with blkback and a guest with blkfront. */
@Timeout(180)
class XlBlockCommandsTest extends XlHostFixture {

    @Test
    void attachListDetach() throws Exception {
        Path img = dir.resolve("d.img");
        Files.write(img, new byte[1 << 20]);
        Path cfg = dir.resolve("g.cfg");
        // An old config's drivers = ['blkfront'] still boots: blkfront is built in, modprobe of it does nothing.
        Files.writeString(cfg, "name = 'g1'\ndrivers = ['blkfront']\ninproc = 1\n");
        assertThat(xl("create", cfg.toString()).code()).isZero();
        int domid = host.guests().get(0).domid();

        // xl -N: the disk libxl would get, as JSON, and nothing attached.
        XlResult dry = xl("-N", "block-attach", "g1", "format=raw,", "vdev=xvda,", "access=rw,", "target=" + img);
        assertThat(dry).isEqualTo(new XlResult(0, "disk: {\n    \"pdev_path\": \"" + img + "\",\n    \"vdev\": \"xvda\",\n"
                + "    \"backend\": \"phy\",\n    \"format\": \"raw\",\n    \"readwrite\": 1\n}\n\n", ""));
        assertThat(xl("block-list", "g1").out().lines().toList()).hasSize(1);

        XlResult a = xl("block-attach", "g1", "format=raw,", "vdev=xvda,", "access=rw,", "target=" + img);
        assertThat(a.code()).as(a.err()).isZero();
        XlResult l = xl("block-list", "g1");
        assertThat(l.code()).isZero();
        List<String> lines = l.out().lines().toList();
        assertThat(lines.get(0)).isEqualTo("Vdev  BE  handle state evt-ch ring-ref BE-path                       ");
        assertThat(lines).hasSize(2);
        String[] f = lines.get(1).trim().split(" +");
        assertThat(f[0]).isEqualTo("51712");
        assertThat(f[1]).isEqualTo("0");
        assertThat(f[2]).isEqualTo(Integer.toString(domid));
        assertThat(f[3]).isIn("3", "4");
        assertThat(Integer.parseInt(f[4])).isPositive();
        assertThat(Integer.parseInt(f[5])).isPositive();
        assertThat(f[6]).isEqualTo("/local/domain/0/backend/vbd/" + domid + "/51712");

        // Several domains: one header, then each domain's disks in the order given (Domain-0 has none); a name
        // that is no domain is said on stderr and skipped, as xl_block.c's loop does, and the status stays 0.
        XlResult several = xl("block-list", "nosuch", "Domain-0", Integer.toString(domid));
        assertThat(several.code()).as(several.err()).isZero();
        assertThat(several.err()).isEqualTo("nosuch is an invalid domain identifier (rc=-6)\n");
        List<String> rows = several.out().lines().toList();
        assertThat(rows).hasSize(2);
        assertThat(rows.get(0)).isEqualTo(lines.get(0));
        assertThat(rows.get(1)).startsWith("51712 0   " + domid + " ").endsWith(f[6]);

        XlResult bad = xl("block-attach", "g1", "/nonexistent.img,raw,xvdb,w");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("/nonexistent.img does not exist").endsWith("\nlibxl_device_disk_add failed.\n");

        XlResult d = xl("block-detach", "g1", "xvda");
        assertThat(d.code()).as(d.err()).isZero();
        assertThat(xl("block-list", "g1").out().lines().toList()).hasSize(1);
        XlResult again = xl("block-detach", "g1", "xvda");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("Error: Device xvda not connected.");
    }

    @Test
    void detachOfADiskTheGuestDoesNotReleaseFailsAndLeavesItUnlessForced() throws Exception {
        Path img = dir.resolve("p.img");
        Files.write(img, new byte[1 << 20]);
        int domid = createGuest("p1", "inproc = 1\ndisk = ['format=raw, vdev=xvda, access=rw, target=" + img + "']\n");
        String be = "/local/domain/0/backend/vbd/" + domid + "/51712";
        String fe = "/local/domain/" + domid + "/device/vbd/51712";
        until(() -> "4".equals(host.xenstore().readOrNull(fe + "/state")));
        // Paused, the guest cannot answer its backend's Closing: libxl_device_disk_safe_remove gives up after
        // 10 s and leaves the disk.
        assertThat(xl("pause", "p1").code()).isZero();
        XlResult safe = xl("block-detach", "p1", "xvda");
        assertThat(safe).isEqualTo(new XlResult(1, "", "libxl: error: Domain " + domid + ":unable to remove device with path "
                + be + " (its backend did not close within 10 s)\nlibxl_device_disk_safe_remove failed.\n"));
        assertThat(host.xenstore().exists(fe)).isTrue();
        assertThat(host.xenstore().readString(be + "/online")).isEqualTo("0");
        assertThat(xl("block-list", "p1").out()).contains(be);

        // -f takes the frontend's directory first, so the backend lets go and the disk is gone.
        XlResult forced = xl("block-detach", "-f", "p1", "xvda");
        assertThat(forced).isEqualTo(new XlResult(0, "", ""));
        assertThat(host.xenstore().exists(fe)).isFalse();
        assertThat(host.xenstore().exists(be)).isFalse();
        assertThat(xl("unpause", "p1").code()).isZero();
        assertThat(xl("block-list", "p1").out().lines().toList()).hasSize(1);
    }

    @Test
    void cdInsertAndEjectAreForHvmGuestsAsInLibxl() throws Exception {
        Path iso = Files.write(dir.resolve("c.iso"), new byte[1 << 20]);
        int domid = createGuest("cd", "inproc = 1\ndisk = ['format=raw, vdev=xvdc, access=ro, devtype=cdrom, target=" + iso + "']\n");
        assertThat(xl("cd-insert", "cd", "xvdc", dir.resolve("none.iso").toString()))
                .isEqualTo(new XlResult(1, "", "Cannot stat file: " + dir.resolve("none.iso") + "\n"));
        String hvmOnly = "libxl: error: Domain " + domid + ":cdrom-insert requires an HVM domain\n";
        assertThat(xl("cd-insert", "cd", "xvdc", iso.toString())).isEqualTo(new XlResult(1, "", hvmOnly));
        assertThat(xl("cd-eject", "cd", "xvdc")).isEqualTo(new XlResult(1, "", hvmOnly));
        assertThat(xl("cd-eject", "nosuch", "xvdc")).isEqualTo(new XlResult(1, "", "nosuch is an invalid domain identifier (rc=-6)\n"));
    }

    @Test
    void resizeGrowsTheDiskWhileBothEndsStayConnected() throws Exception {
        Path img = dir.resolve("r.img");
        Files.write(img, new byte[1 << 20]);
        Path cfg = dir.resolve("r.cfg");
        Files.writeString(cfg, "name = 'r1'\ninproc = 1\ndisk = ['format=raw, vdev=xvda, access=rw, target=" + img + "']\n");
        assertThat(xl("create", cfg.toString()).code()).isZero();
        int domid = host.guests().get(0).domid();
        String be = "/local/domain/0/backend/vbd/" + domid + "/51712";
        String fe = "/local/domain/" + domid + "/device/vbd/51712";
        try (org.jxen.xenstore.client.XsClient xs = new org.jxen.xenstore.client.XsClient(
                org.jxen.xenstore.client.UnixSocketChannel.connect(run.resolve(org.jxen.toolstack.Host.XENSTORED_SOCKET)))) {
            until(() -> "4".equals(xs.readOrNull(fe + "/state")) && "4".equals(xs.readOrNull(be + "/state")));
            assertThat(xs.readString(be + "/sectors")).isEqualTo("2048");
            Path block = dir.resolve("block");
            byte[] pattern = new byte[512];
            java.util.Arrays.fill(pattern, (byte) 0x5a);
            Files.write(block, pattern);
            XlResult past = xl("exec", "r1", "--", "dd", "if=" + block, "of=/dev/xvda", "bs=512", "seek=3000", "conv=notrunc");
            assertThat(past.code()).as("writing past the 1 MiB disk").isNotZero();
            assertThat(past.err()).contains("No space left on device");

            XlResult r = xl("block-resize", "r1", "xvda", "2M");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(Files.size(img)).isEqualTo(2L << 20);
            assertThat(xs.readString(be + "/sectors")).isEqualTo("4096");
            assertThat(xs.readString(be + "/state")).isEqualTo("4");
            assertThat(xs.readString(fe + "/state")).isEqualTo("4");
            until(() -> xl("dmesg", "r1").out().contains("blkfront: xvda: Setting capacity to 4096"));
            XlResult wrote = xl("exec", "r1", "--", "dd", "if=" + block, "of=/dev/xvda", "bs=512", "seek=3000", "conv=notrunc,fsync");
            assertThat(wrote.code()).as(wrote.err()).isZero();
            byte[] back = new byte[512];
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img.toFile(), "r")) {
                f.seek(3000L * 512);
                f.readFully(back);
            }
            assertThat(back).isEqualTo(pattern);
            assertThat(host.dom0Kernel().log().lines()).contains("VBD Resize: new size 4096");
        }

        XlResult smaller = xl("block-resize", "r1", "xvda", "1M");
        assertThat(smaller.code()).isEqualTo(1);
        assertThat(smaller.err().strip()).isEqualTo("Error: shrinking " + img + " from 2097152 to 1048576 bytes loses what"
                + " lies past it; add --shrink to do so");
        assertThat(Files.size(img)).isEqualTo(2L << 20);
        XlResult odd = xl("block-resize", "r1", "xvda", "1000");
        assertThat(odd.code()).isEqualTo(1);
        assertThat(odd.err().strip()).isEqualTo("Error: size 1000 is not a multiple of 512 bytes");
        XlResult none = xl("block-resize", "r1", "xvdz", "4M");
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.err().strip()).isEqualTo("Error: Device xvdz not connected.");
    }

    /** Polls {@code done} until it holds, failing after a minute. */
    private static void until(java.util.concurrent.Callable<Boolean> done) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (!done.call()) {
            assertThat(System.nanoTime()).as("condition not met within 60 s").isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
