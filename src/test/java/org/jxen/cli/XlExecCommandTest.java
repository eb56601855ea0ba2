package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jxen.toolstack.Host;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code xl exec DOM -- COMMAND...} as a user runs it: through the jxen command line (picocli in-process with
 * captured output, and a real xl process), against a host whose guest was created with a 4 MiB disk as xvda.
 */
@Timeout(240)
class XlExecCommandTest {
    @TempDir
    static Path dir;
    static Host host;
    static Path run;
    static Path image;
    static byte[] data;

    @BeforeAll
    static void boot() throws Exception {
        data = new byte[4 << 20];
        new Random(11).nextBytes(data);
        image = Files.write(dir.resolve("disk.img"), data);
        run = dir.resolve("host");
        host = Host.start(run, false);
        Path cfg = Files.writeString(dir.resolve("g.cfg"), "name = 'g'\nmemory = 32\ninproc = 1\n"
                + "disk = ['format=raw, vdev=xvda, access=rw, target=" + image + "']\n");
        XlResult c = xl("create", cfg.toString());
        assertThat(c.code()).as(c.err()).isZero();
    }

    @AfterAll
    static void down() {
        if (host != null) host.close();
    }

    static XlResult xl(String... args) {
        return XlResult.run(run, args);
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** The file holds exactly {@code want} (reported as the first differing offset, not two dumps). */
    static void assertSameBytes(Path file, byte[] want) throws Exception {
        byte[] have = Files.readAllBytes(file);
        assertThat(Arrays.mismatch(have, want)).as("first offset where %s differs (%d bytes, want %d)", file,
                have.length, want.length).isEqualTo(-1);
    }

    @Test
    void sha256sumPrintsTheImagesDigest() throws Exception {
        XlResult r = xl("exec", "g", "--", "sha256sum", "/dev/xvda");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(sha256(data) + "  /dev/xvda\n");
        assertThat(r.err()).isEmpty();
        // By domain id too, with xl exec's own option before the "--".
        int domid = host.guests().getFirst().domid();
        r = xl("exec", "--timeout", "120", Integer.toString(domid), "--", "sha256sum", "/dev/xvda");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(sha256(data) + "  /dev/xvda\n");
    }

    @Test
    void ddCopiesTheDisksFirstBlocksToAHostFile() throws Exception {
        Path out = dir.resolve("head.bin");
        XlResult r = xl("exec", "g", "--", "dd", "if=/dev/xvda", "of=" + out, "bs=4k", "count=37");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("37+0 records in\n37+0 records out\n151552 bytes copied");
        assertSameBytes(out, Arrays.copyOf(data, 37 * 4096));
    }

    @Test
    void ddReadsAndWritesTheGuestsCharacterDevices() {
        // /dev/null and /dev/zero are the guest's, as Linux's mem devices, not disks to wait for.
        XlResult r = xl("exec", "g", "--", "dd", "if=/dev/xvda", "of=/dev/null", "bs=4096", "count=10");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("10+0 records in\n10+0 records out\n40960 bytes copied");
        r = xl("exec", "g", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=1k", "count=3");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("3+0 records in\n3+0 records out\n3072 bytes copied");
    }

    @Test
    void aRelativeHostPathIsXlsWorkingDirectorysNotTheGuests() throws Exception {
        // The guest runs in the host's JVM, whose working directory is not the xl process's.
        Path cwd = Files.createDirectories(dir.resolve("xl-cwd"));
        assertThat(Path.of("").toAbsolutePath()).isNotEqualTo(cwd);
        String name = "xl-exec-" + UUID.randomUUID() + ".bin";
        try {
            XlResult r = process(cwd, "exec", "g", "--", "dd", "if=/dev/xvda", "of=" + name, "bs=4k", "count=2", "skip=5");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(Path.of(name)).doesNotExist();
            assertSameBytes(cwd.resolve(name), Arrays.copyOfRange(data, 5 * 4096, 7 * 4096));
        } finally {
            Files.deleteIfExists(Path.of(name)); // where a regression would have put it
        }
    }

    @Test
    void failuresGiveTheUtilitysStatusAndMessage() throws Exception {
        // Past the end of the 4 MiB (1024 x 4 KiB) disk.
        Path out = dir.resolve("past.bin");
        XlResult r = xl("exec", "g", "--", "dd", "if=/dev/xvda", "of=" + out, "bs=4k", "skip=2000", "count=1");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("dd: '/dev/xvda': cannot skip to specified offset\n0+0 records in\n");

        r = xl("exec", "g", "--", "no-such-tool", "/dev/xvda");
        assertThat(r.code()).isEqualTo(127);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("exec: no-such-tool: command not found (known: dd, sha256sum, blkbench, insmod, rmmod, lsmod, cat, ls, dmesg)\n");

        r = xl("exec", "g", "--", "blkbench", "/dev/xvda", "--rw", "sideways");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("blkbench: --rw must be randread, randwrite, read or write\nusage: blkbench ");

        // Output and error both come through when one of several files fails; a relative name is made absolute.
        r = xl("exec", "g", "--", "sha256sum", "/dev/xvda", "no-such-file");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEqualTo(sha256(data) + "  /dev/xvda\n");
        assertThat(r.err()).isEqualTo("sha256sum: " + Path.of("no-such-file").toAbsolutePath()
                + ": No such file or directory\n");
    }

    @Test
    void xlsOwnErrors() {
        XlResult r = xl("exec", "nosuch", "--", "sha256sum", "/dev/xvda");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("xl exec: nosuch is an invalid domain identifier (rc=-6)\n");

        r = xl("exec", "g");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("'xl exec' requires at least 2 arguments.\n\nUsage: xl [-vtT] [-H DIR] exec ");

        // Without "--" the utility's options are taken for xl exec's.
        r = xl("exec", "g", "blkbench", "/dev/xvda", "--rw", "read");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("option `rw' not supported.\n");
    }

    @Test
    void blkbenchPrintsItsReport() {
        XlResult r = xl("exec", "g", "--", "blkbench", "/dev/xvda", "--rw", "randread", "--bs", "4k", "--qd", "32",
                "--seconds", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        Matcher m = Pattern.compile("blkbench: /dev/xvda rw=randread bs=4096 qd=32 queues=[1-9][0-9]* zero_copy=0"
                + " seconds=[0-9.]+ ops=([0-9]+) iops=([0-9]+) mbps=[0-9.]+ p50_us=[0-9.]+ p99_us=[0-9.]+ errors=0\n")
                .matcher(r.out());
        assertThat(m.matches()).as(r.out()).isTrue();
        assertThat(Long.parseLong(m.group(1))).isPositive();
        assertThat(Long.parseLong(m.group(2))).isPositive();
    }

    @Test
    void aRealXlProcessExitsWithTheGuestCommandsStatus() throws Exception {
        XlResult ok = process(dir, "exec", "g", "--", "sha256sum", "/dev/xvda");
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).isEqualTo(sha256(data) + "  /dev/xvda\n");
        XlResult missing = process(dir, "exec", "g", "--", "no-such-tool");
        assertThat(missing.code()).isEqualTo(127);
        assertThat(missing.out()).isEmpty();
        assertThat(missing.err()).isEqualTo("exec: no-such-tool: command not found (known: dd, sha256sum, blkbench, insmod, rmmod, lsmod, cat, ls, dmesg)\n");
    }

    /** xl in {@code cwd} as its own process. */
    private static XlResult process(Path cwd, String... args) throws Exception {
        return XlResult.process(run, cwd, args);
    }
}
