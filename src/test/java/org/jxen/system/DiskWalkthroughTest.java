package org.jxen.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.jxen.cli.XlResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The README's disk walkthrough as written (only the paths are this test's): a guest from a config with a name
 * and memory and no drivers line, in its own process; a disk attached with xl block-attach, listed, written with
 * dd, read with sha256sum, measured with blkbench, detached. blkfront is built into the guest's kernel.
 */
@Timeout(240)
class DiskWalkthroughTest extends SystemFixture {
    @Test
    void theReadmesDiskCommandsWorkWithoutADriversLine() throws Exception {
        Path img = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(256L << 20); // truncate -s 256M
        }
        Path cfg = Files.writeString(dir.resolve("g1.cfg"), "name = \"g1\"\nmemory = 64\n");
        XlResult c = xl("create", cfg.toString());
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(host.guests().getFirst().process()).as("a guest in its own JVM").isNotNull();

        ok(xl("block-attach", "g1", "format=raw, vdev=xvda, access=rw, target=" + img), "");
        XlResult list = xl("block-list", "g1");
        assertThat(list.code()).isZero();
        assertThat(list.out().lines().toList()).hasSize(2).last().asString().startsWith("51712");

        Path hostname = Path.of("/etc/hostname");
        byte[] name = Files.readAllBytes(hostname);
        XlResult dd = xl("exec", "g1", "--", "dd", "if=" + hostname, "of=/dev/xvda", "bs=512", "count=1", "conv=notrunc");
        assertThat(dd.code()).as(dd.err()).isZero();
        assertThat(dd.err()).startsWith("0+1 records in\n0+1 records out\n" + name.length + " bytes copied");
        byte[] head = new byte[name.length];
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            f.readFully(head);
        }
        assertThat(head).isEqualTo(name);

        byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(img));
        ok(xl("exec", "g1", "--", "sha256sum", "/dev/xvda"), HexFormat.of().formatHex(digest) + "  /dev/xvda\n");

        XlResult bench = xl("exec", "g1", "--", "blkbench", "/dev/xvda", "--rw", "randread", "--bs", "4k", "--qd", "32",
                "--seconds", "2");
        assertThat(bench.code()).as(bench.err()).isZero();
        assertThat(bench.out()).startsWith("blkbench: /dev/xvda rw=randread bs=4096 qd=32 queues=").contains(" errors=0");

        ok(xl("block-detach", "g1", "xvda"), "");
        assertThat(xl("block-list", "g1").out().lines().toList()).as("the header alone").hasSize(1);
    }
}
