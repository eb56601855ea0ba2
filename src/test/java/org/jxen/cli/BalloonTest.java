package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.jxen.hypervisor.HypercallException;
import org.jxen.toolstack.migration.MigrationRequests;
import org.jxen.xenstore.testing.Await;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The balloon driver every guest kernel has built in, seen as a Xen user sees it: a guest built with maxmem above
 * memory holds memory from the start; {@code xl mem-set} moves the domain's Mem in {@code xl list} (what the
 * hypervisor counts), down and up to {@code maxmem}; a target below what the kernel needs stops at its reserve
 * and a device can still connect; a save image keeps the target; a kernel without the driver keeps what it
 * started with.
 */
class BalloonTest extends XlHostFixture {

    @Override
    @BeforeEach
    protected void start() throws Exception {
        super.start();
        MigrationRequests.install(host); // xl save and restore, as every jxen host has them
    }

    private int create(String name, String extra) throws Exception {
        return createGuest(name, "memory = 32\n" + extra);
    }

    private long mem(String name) {
        return XlRow.of(xl("list").out(), name).mem();
    }

    /** tot_pages of {@code id}, as the hypervisor counts them. */
    private int pages(int id) {
        try {
            return host.dom0().domainControl().info(id).memoryPages();
        } catch (HypercallException e) {
            throw new AssertionError(e);
        }
    }

    private String read(String path) {
        try {
            return host.xenstore().readOrNull(path);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void awaitMem(String name, long mib) throws InterruptedException {
        Await.until(name + " holding " + mib + " MiB", () -> mem(name) == mib, 30);
    }

    @ParameterizedTest(name = "inproc = {0}")
    @ValueSource(ints = {1, 0})
    void memSetMovesTheDomainsMemoryBothWaysUpToMaxmem(int inproc) throws Exception {
        int id = create("b", "maxmem = 64\ninproc = " + inproc + "\n");
        // Built with 64 MiB of frames, it starts with 32: the domain builder left the rest unpopulated.
        assertThat(mem("b")).isEqualTo(32);
        assertThat(pages(id)).isEqualTo(32 * 256);
        assertThat(xl("dmesg", "b").out()).contains("xen:balloon: Initialising balloon driver\n");

        assertThat(xl("mem-set", "b", "20m")).isEqualTo(new XlResult(0, "", ""));
        awaitMem("b", 20);
        assertThat(pages(id)).isEqualTo(20 * 256);
        assertThat(xl("mem-set", "b", "64m")).isEqualTo(new XlResult(0, "", ""));
        awaitMem("b", 64);
        assertThat(xl("mem-set", "b", "40000k")).isEqualTo(new XlResult(0, "", ""));
        Await.until("10000 pages", () -> pages(id) == 10000, 30);
        // The guest works on with its memory moved under it.
        XlResult lsmod = xl("exec", "b", "--", "lsmod");
        assertThat(lsmod.code()).as(lsmod.err()).isZero();
    }

    @Test
    void aTargetBelowWhatTheKernelNeedsStopsAtItsReserveAndADeviceStillConnects() throws Exception {
        int id = create("low", "inproc = 1\n");
        int before = pages(id);
        assertThat(xl("mem-set", "low", "128k")).isEqualTo(new XlResult(0, "", ""));
        // It gives all it may: every frame but the kernel's own (console and xenstore pages, event-channel
        // control block, the record's area) and a reserve of sqrt(16 x 32768) KiB = 181 frames, as Linux keeps
        // min_free_kbytes.
        Await.until("ballooned down", () -> pages(id) < 300, 30);
        Thread.sleep(2500); // its first retry (after 2 s) finds nothing more to give
        int floor = pages(id);
        assertThat(floor).isBetween(64 + 2 + 181, 300).isLessThan(before);
        // A device's ring still finds a page: the reserve (blkfront's pools would not fit, as on Linux).
        assertThat(xl("exec", "low", "--", "insmod", "mydevicefront").code()).isZero();
        assertThat(xl("device-attach", "low", "mydevice").code()).isZero();
        String state = "/local/domain/" + id + "/device/mydevice/0/state";
        Await.until("mydevice connected", () -> "4".equals(read(state)), 30);
        assertThat(pages(id)).as("its ring came from the reserve").isEqualTo(floor);
        assertThat(xl("mem-set", "low", "32")).isEqualTo(new XlResult(0, "", ""));
        awaitMem("low", 32);
    }

    @ParameterizedTest(name = "inproc = {0}")
    @ValueSource(ints = {1, 0})
    void aSaveImageKeepsTheTargetAndTheRestoredGuestHoldsIt(int inproc) throws Exception {
        create("s", "maxmem = 48\ninproc = " + inproc + "\n");
        assertThat(xl("mem-set", "s", "24").code()).isZero();
        awaitMem("s", 24);
        // A checkpoint thaws the balloon where it froze: it still follows the target.
        Path image = dir.resolve("s.save");
        XlResult checkpoint = xl("save", "-c", "s", image.toString());
        assertThat(checkpoint.code()).as(checkpoint.err()).isZero();
        assertThat(xl("mem-set", "s", "28").code()).isZero();
        awaitMem("s", 28);
        XlResult save = xl("save", "s", image.toString());
        assertThat(save.code()).as(save.err()).isZero();
        XlResult restore = xl("restore", image.toString());
        assertThat(restore.code()).as(restore.err()).isZero();
        assertThat(mem("s")).isEqualTo(28);
        String json = xl("list", "-l", "s").out();
        assertThat(json).contains("\"max_memkb\": 49152,").contains("\"target_memkb\": 28672");
        assertThat(xl("mem-set", "s", "48").code()).isZero();
        awaitMem("s", 48);
    }

    @Test
    void aKernelWithoutTheBalloonKeepsWhatItStartedWith() throws Exception {
        int id = create("plain", "maxmem = 64\ninproc = 1\nkernel_class = 'org.jxen.kernel.StandardKernel'\n");
        assertThat(mem("plain")).isEqualTo(32);
        assertThat(xl("mem-set", "plain", "64").code()).isZero();
        Thread.sleep(500);
        assertThat(pages(id)).isEqualTo(32 * 256);
        assertThat(xl("dmesg", "plain").out()).doesNotContain("xen:balloon");
    }
}
