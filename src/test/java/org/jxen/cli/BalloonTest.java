package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.jxen.xenstore.testing.Await;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.jxen.toolstack.migration.MigrationRequests;

/**
 * The balloon driver every guest kernel has built in, seen as a Xen user sees it: {@code xl mem-set} moves the
 * domain's Mem in {@code xl list} (what the hypervisor counts), down and up to {@code maxmem}; a guest built with
 * maxmem above memory holds memory; a target below what the kernel uses stops where the kernel's pages are and
 * the guest goes on working; a save image keeps the target.
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
        } catch (org.jxen.hypervisor.HypercallException e) {
            throw new AssertionError(e);
        }
    }

    private void awaitMem(String name, long mib) throws InterruptedException {
        Await.until(name + " holding " + mib + " MiB", () -> mem(name) == mib, 30);
    }

    @ParameterizedTest(name = "inproc = {0}")
    @ValueSource(ints = {1, 0})
    void memSetMovesTheDomainsMemoryBothWaysUpToMaxmem(int inproc) throws Exception {
        int id = create("b", "maxmem = 64\ninproc = " + inproc + "\n");
        // Built with 64 MiB of frames, its balloon gives back what is above the 32 MiB target as it boots.
        awaitMem("b", 32);
        assertThat(xl("dmesg", "b").out()).contains("xen:balloon: Initialising balloon driver\n");
        assertThat(pages(id)).isEqualTo(32 * 256);

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
    void aTargetBelowWhatTheKernelUsesStopsThereAndTheGuestGoesOn() throws Exception {
        int id = create("low", "inproc = 1\n");
        awaitMem("low", 32);
        assertThat(xl("mem-set", "low", "128k")).isEqualTo(new XlResult(0, "", ""));
        // It gives all it can: every frame but the ones its kernel holds (the console and xenstore pages, the
        // event channels' control block, the area kept for its record at suspend).
        Await.until("ballooned down", () -> pages(id) < 128, 30);
        int floor = pages(id);
        assertThat(floor).isGreaterThan(64);
        XlResult lsmod = xl("exec", "low", "--", "lsmod");
        assertThat(lsmod.code()).as(lsmod.err()).isZero();
        assertThat(pages(id)).isEqualTo(floor);
        assertThat(xl("mem-set", "low", "32")).isEqualTo(new XlResult(0, "", ""));
        awaitMem("low", 32);
    }

    @Test
    void aSaveImageKeepsTheTargetAndTheRestoredGuestHoldsIt() throws Exception {
        create("s", "maxmem = 48\ninproc = 1\n");
        awaitMem("s", 32);
        assertThat(xl("mem-set", "s", "24").code()).isZero();
        awaitMem("s", 24);
        Path image = dir.resolve("s.save");
        XlResult save = xl("save", "s", image.toString());
        assertThat(save.code()).as(save.err()).isZero();
        XlResult restore = xl("restore", image.toString());
        assertThat(restore.code()).as(restore.err()).isZero();
        awaitMem("s", 24);
        String json = xl("list", "-l", "s").out();
        assertThat(json).contains("\"max_memkb\": 49152,").contains("\"target_memkb\": 24576");
        assertThat(xl("mem-set", "s", "48").code()).isZero();
        awaitMem("s", 48);
    }
}
