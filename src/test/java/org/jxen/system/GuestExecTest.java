package org.jxen.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.jxen.toolstack.DiskSpec;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.GuestExecClient;
import org.jxen.toolstack.Host;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * xl exec's channel end to end: a host, an in-process ModularKernel guest (blkfront built in, asked for two queues
 * on its command line) with a file disk and a null disk; the guest userland's dd, sha256sum and blkbench.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class GuestExecTest {
    @TempDir
    static Path dir;
    static Host host;
    static int domid;
    static Path image;
    static byte[] data;

    @BeforeAll
    static void boot() throws Exception {
        data = new byte[4 << 20];
        new Random(7).nextBytes(data);
        image = dir.resolve("disk.img");
        Files.write(image, data);
        host = Host.start(dir.resolve("run"), false);
        domid = host.create(new GuestConfig("g", 32, 1, GuestConfig.MODULAR_KERNEL, List.of("blkfront.max_queues=2"), false)).domid();
        host.libxl().addDevice(domid, DiskSpec.parse("vdev=xvda, access=rw, target=" + image).device());
        host.libxl().addDevice(domid, DiskSpec.parse("vdev=xvdb, access=rw, target=null:8M").device());
    }

    @AfterAll
    static void down() {
        if (host != null) host.close();
    }

    static GuestExecClient.Result exec(String... argv) throws Exception {
        return GuestExecClient.run(host.xenstore(), domid, List.of(argv), 60_000);
    }

    @Test
    void sha256sumOfTheDiskMatchesTheImage() throws Exception {
        GuestExecClient.Result r = exec("sha256sum", "/dev/xvda");
        String want = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(image)));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(want + "  /dev/xvda\n");
        assertThat(host.xenstore().directory("/local/domain/" + domid + "/data/exec")).containsExactly("next");
    }

    @Test
    void ddFromTheDiskToAHostFileAndBackWithSkipAndSeek() throws Exception {
        Path out = dir.resolve("out.bin");
        GuestExecClient.Result r = exec("dd", "if=/dev/xvda", "of=" + out, "bs=1M", "count=2", "skip=1");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.err()).contains("2+0 records in", "2+0 records out", "2097152 bytes copied");
        assertThat(Files.readAllBytes(out)).isEqualTo(Arrays.copyOfRange(data, 1 << 20, 3 << 20));

        // Unaligned block size onto the null disk and back works; a 1000-byte record written at 3 MiB + 1000.
        byte[] src = new byte[3000];
        new Random(3).nextBytes(src);
        Path in = dir.resolve("in.bin");
        Files.write(in, src);
        Path copy = dir.resolve("copy.img");
        Files.copy(image, copy);
        r = exec("dd", "if=" + in, "of=/dev/xvda", "bs=1000", "seek=3146");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.err()).contains("3+0 records in");
        byte[] now = Files.readAllBytes(image);
        System.arraycopy(src, 0, data, 3_146_000, src.length);
        assertThat(now).isEqualTo(data);

        // Partial last record from a host file; conv=notrunc keeps the rest of an existing output file.
        Files.write(out, new byte[10_000]);
        r = exec("dd", "if=" + in, "of=" + out, "bs=1024", "conv=notrunc");
        assertThat(r.err()).contains("2+1 records in");
        byte[] o = Files.readAllBytes(out);
        assertThat(o).hasSize(10_000);
        assertThat(Arrays.copyOf(o, 3000)).isEqualTo(src);
    }

    @Test
    void errorsAreClearWithNonzeroStatus() throws Exception {
        GuestExecClient.Result r = exec("dd", "if=/dev/xvdb", "of=/dev/xvda", "bs=1M", "count=2", "seek=3");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("dd: error writing '/dev/xvda': No space left on device");
        r = exec("dd", "if=" + dir.resolve("missing"), "of=/dev/xvdb");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("failed to open").contains("No such file or directory");
        r = exec("dd", "if=/dev/xvda", "of=/dev/xvdb", "bs=x");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("invalid number");
        r = exec("nosuch");
        assertThat(r.status()).isEqualTo(127);
        assertThat(r.err()).contains("command not found");
        r = exec("blkbench", "/dev/xvdb", "--rw", "sideways");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("--rw must be");
    }

    @Test
    void blkbenchReportsIopsAndLatency() throws Exception {
        for (String rw : List.of("randread", "randwrite", "read", "write")) {
            GuestExecClient.Result r = exec("blkbench", "/dev/xvdb", "--rw", rw, "--bs", "4k", "--qd", "8",
                    "--seconds", "0.2", "--warmup", "0");
            assertThat(r.status()).as(r.err()).isZero();
            assertThat(r.out()).startsWith("blkbench: /dev/xvdb rw=" + rw + " bs=4096 qd=8 queues=2 zero_copy=0")
                    .containsPattern("iops=[0-9]+ mbps=[0-9.]+ p50_us=[0-9.]+ p99_us=[0-9.]+ errors=0");
        }
        for (String rw : List.of("randread", "read")) {
            GuestExecClient.Result r = exec("blkbench", "/dev/xvdb", "--rw", rw, "--bs", "64k", "--qd", "4",
                    "--seconds", "0.2", "--warmup", "0", "--zero-copy");
            assertThat(r.status()).as(r.err()).isZero();
            assertThat(r.out()).startsWith("blkbench: /dev/xvdb rw=" + rw + " bs=65536 qd=4 queues=2 zero_copy=1")
                    .containsPattern("ops=[1-9][0-9]* iops=[0-9]+ .* errors=0");
        }
    }
}
