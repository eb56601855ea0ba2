package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.jxen.toolstack.GuestExecClient;
import org.jxen.toolstack.Host;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code xl create} of a config with a {@code disk = [...]} list, then the disks used from inside the guest with
 * the guest's own utilities (xl exec's channel): one rw image, one read-only image; the guest in the host's JVM
 * and in its own process.
 */
@Timeout(240)
class XlCreateWithDisksTest extends XlHostFixture {
    static final int SECTOR = 512;

    private GuestExecClient.Result exec(int domid, String... argv) throws Exception {
        return GuestExecClient.run(host.xenstore(), domid, List.of(argv), 120_000);
    }

    private static byte[] random(int bytes, long seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** The block script's physical-device for an image file: st_dev as hex major:minor (glibc's split). */
    private static String hexDev(Path file) throws Exception {
        long dev = (Long) Files.getAttribute(file, "unix:dev");
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        return Long.toHexString(major) + ":" + Long.toHexString(minor);
    }

    @ParameterizedTest(name = "inproc = {0}")
    @ValueSource(booleans = {true, false})
    void aConfigsDisksAreTheGuestsXvdaAndReadOnlyXvdb(boolean inproc) throws Exception {
        byte[] rw = random(4 << 20, 1);
        byte[] ro = random(1 << 20, 2);
        Path rwImg = Files.write(dir.resolve("rw.img"), rw);
        Path roImg = Files.write(dir.resolve("ro.img"), ro);
        Path cfg = dir.resolve("g.cfg");
        Files.writeString(cfg, "name = 'g'\nmemory = 32\n" + (inproc ? "inproc = 1\n" : "")
                + "disk = [ 'format=raw, vdev=xvda, access=rw, target=" + rwImg + "',\n"
                + "         'format=raw, vdev=xvdb, access=ro, target=" + roImg + "' ]\n");
        XlResult c = xl("create", cfg.toString());
        assertThat(c.code()).as(c.err()).isZero();
        Host.Guest g = host.guests().getFirst();
        assertThat(g.process() == null).isEqualTo(inproc);
        int domid = g.domid();

        // The guest reads the images' bytes.
        GuestExecClient.Result r = exec(domid, "sha256sum", "/dev/xvda", "/dev/xvdb");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(sha256(rw) + "  /dev/xvda\n" + sha256(ro) + "  /dev/xvdb\n");

        // What libxl and the block script wrote, and what blkback published once the guest connected.
        XsClient xs = host.xenstore();
        String[][] disks = {{"51712", rwImg.toString(), "w", "0"}, {"51728", roImg.toString(), "r", "4"}};
        for (String[] d : disks) {
            String be = "/local/domain/0/backend/vbd/" + domid + "/" + d[0];
            String fe = "/local/domain/" + domid + "/device/vbd/" + d[0];
            Path img = Path.of(d[1]);
            assertThat(xs.readString(be + "/params")).isEqualTo(d[1]);
            assertThat(xs.readString(be + "/mode")).isEqualTo(d[2]);
            assertThat(xs.readString(be + "/type")).isEqualTo("file");
            assertThat(xs.readString(be + "/physical-device")).isEqualTo(hexDev(img));
            assertThat(xs.readString(be + "/physical-device-path")).isEqualTo(img.toRealPath().toString());
            assertThat(xs.readString(be + "/hotplug-status")).isEqualTo("connected");
            assertThat(xs.readString(be + "/info")).as("VDISK_READONLY").isEqualTo(d[3]);
            assertThat(xs.readString(be + "/sectors")).isEqualTo(Long.toString(Files.size(img) / SECTOR));
            assertThat(xs.readString(be + "/state")).isEqualTo("4");
            assertThat(xs.readString(fe + "/virtual-device")).isEqualTo(d[0]);
            assertThat(xs.readString(fe + "/backend")).isEqualTo(be);
            assertThat(xs.readString(fe + "/state")).isEqualTo("4");
        }

        // A write through xvda lands in the image byte for byte: 3 whole 4 KiB records and a partial one of
        // 1000 bytes (read-modify-write of its sectors), at 400 KiB.
        byte[] patch = random(3 * 4096 + 1000, 3);
        Path patchFile = Files.write(dir.resolve("patch.bin"), patch);
        r = exec(domid, "dd", "if=" + patchFile, "of=/dev/xvda", "bs=4k", "seek=100", "conv=fsync");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.err()).contains("3+1 records in", "13288 bytes copied");
        System.arraycopy(patch, 0, rw, 100 * 4096, patch.length);
        assertSameBytes(rwImg, rw);
        r = exec(domid, "sha256sum", "/dev/xvda");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(sha256(rw) + "  /dev/xvda\n");

        // xvdb: the guest's kernel says it is read-only, and the guest's writes to it fail and change nothing.
        assertThat(awaitConsoleLine(domid, "blkfront: xvdb: ")).endsWith(", read-only");
        assertThat(awaitConsoleLine(domid, "blkfront: xvda: ")).doesNotContain("read-only");
        r = exec(domid, "dd", "if=" + patchFile, "of=/dev/xvdb", "bs=4k");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("dd: error writing '/dev/xvdb': Operation not permitted (read-only disk)",
                "0+0 records out");
        r = exec(domid, "blkbench", "/dev/xvdb", "--rw", "randwrite", "--seconds", "0.1", "--warmup", "0");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("blkbench: /dev/xvdb: read-only disk\n");
        assertSameBytes(roImg, ro);
        assertSameBytes(rwImg, rw);
    }

    @Test
    void emulatedDiskNamesAreTheXvdNamesLinuxGivesThem() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), new byte[1 << 20]);
        Path b = Files.write(dir.resolve("b.img"), new byte[2 << 20]);
        Path c = Files.write(dir.resolve("c.iso"), new byte[1 << 20]);
        int domid = createGuest("e", "inproc = 1\nmemory = 32\ndisk = ['" + a + ",raw,hda,rw', '" + b + ",raw,sdb,rw',"
                + " 'format=raw, vdev=xvdc, access=ro, devtype=cdrom, target=" + c + "']\n");
        awaitConsoleLine(domid, "blkfront: xvda:");
        awaitConsoleLine(domid, "blkfront: xvdb:");
        // A cdrom: libxl's device-type on both ends, blkback's info VDISK_CDROM | VDISK_READONLY.
        assertThat(awaitConsoleLine(domid, "blkfront: xvdc:")).endsWith(", read-only, cdrom");
        String be = "/local/domain/0/backend/vbd/" + domid + "/51744";
        assertThat(host.xenstore().readString(be + "/device-type")).isEqualTo("cdrom");
        assertThat(host.xenstore().readString("/local/domain/" + domid + "/device/vbd/51744/device-type")).isEqualTo("cdrom");
        assertThat(host.xenstore().readString(be + "/info")).isEqualTo("5");
        GuestExecClient.Result r = exec(domid, "cat", "/proc/partitions");
        assertThat(r.status()).isZero();
        assertThat(r.out()).isEqualTo("major minor  #blocks  name\n\n"
                + " 202        0       1024 xvda\n"
                + " 202       16       2048 xvdb\n"
                + " 202       32       1024 xvdc\n");

        // sda is xvda too: attached beside hda, it does not get the name (Linux's xlbd_reserve_minors, EBUSY).
        assertThat(xl("block-attach", "e", Files.write(dir.resolve("d.img"), new byte[1 << 20]) + ",raw,sda,rw").code()).isZero();
        String error = "/local/domain/" + domid + "/error/device/vbd/2048/error";
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> host.xenstore().readOrNull(error) != null);
        assertThat(host.xenstore().readString(error)).startsWith("16 ").contains("xlvbd_add at /local/domain/0/backend/vbd/"
                + domid + "/2048: virtual-device 2048 is xvda, which device 768 is already");
    }

    /** The file holds exactly {@code want} (reported as the first differing offset, not two 4 MiB dumps). */
    private static void assertSameBytes(Path file, byte[] want) throws Exception {
        byte[] have = Files.readAllBytes(file);
        assertThat(Arrays.mismatch(have, want)).as("first offset where %s differs (%d bytes, want %d)", file,
                have.length, want.length).isEqualTo(-1);
    }

    /** The guest's first console line starting with {@code prefix} (xl dmesg DOM), waited for. */
    private String awaitConsoleLine(int domid, String prefix) throws Exception {
        for (int i = 0; i < 600; i++) {
            XlResult d = xl("dmesg", Integer.toString(domid));
            assertThat(d.code()).as(d.err()).isZero();
            var line = d.out().lines().filter(l -> l.startsWith(prefix)).findFirst();
            if (line.isPresent()) return line.get();
            Thread.sleep(50);
        }
        throw new AssertionError("no console line " + prefix + " from domain " + domid);
    }
}
