package org.jxen.system.blk;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.drivers.blk.front.BlockFront;
import org.jxen.toolstack.Host;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * blkfront across a resume in a new domain (blkfront_resume, blkif_recover): a guest writing hard is
 * suspended, its devices are made again as a target host's toolstack makes them (the old backend gone, the
 * frontend Initialising, a new backend), and it resumes as a new domain. Every write completes, none fails, and
 * the image holds each one; what was in flight was requeued to the new backend.
 */
@Timeout(180)
class BlkResumeTest extends BlkWireFixture {
    private static final int MIB = 1 << 20;

    @Test
    void writesInFlightAtASuspendAreSentToTheNewBackendAndNoneIsLost() throws Exception {
        Path img = BlkWireHarness.image(dir, "disk.img", 16 * MIB, 3);
        Host.Guest g = h.guest("g1");
        int domid = g.domid();
        String spec = "format=raw, vdev=xvda, access=rw, target=" + img;
        h.attach(domid, spec);
        BlockFront d = h.disk(domid, "xvda");

        int n = 512;
        int size = 32 * 1024;
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int i = 0; i < n / 2; i++) writes.add(d.write((long) i * (size / 512), block(i, size)));
        h.host.suspend(domid, Duration.ofSeconds(30));

        // The source's side goes: the old backend is removed (as the source host's destroy removes it).
        String fe = BlkWireHarness.fe(domid, 51712);
        String be = BlkWireHarness.be(domid, 51712);
        h.xs.rm(be);
        BlkWireHarness.awaitTrue("the old backend device gone", () -> h.host.dom0Kernel().xenbus().backend().devices().isEmpty());
        // Requests made now go onto rings nobody serves any more: they can only complete after the resume.
        for (int i = n / 2; i < n; i++) writes.add(d.write((long) i * (size / 512), block(i, size)));
        assertThat(writes.get(n - 1)).isNotDone();
        // The target's toolstack: the devices made anew (frontend Initialising, a new backend, its script).
        h.xs.rm(fe);
        h.attach(domid, spec);

        h.host.resume(domid, false);
        for (int i = 0; i < n; i++) writes.get(i).get(60, TimeUnit.SECONDS);
        assertThat(h.awaitValue(fe + "/state", "4"::equals, 60)).isTrue();
        assertThat(h.awaitValue(be + "/state", "4"::equals, 60)).isTrue();

        byte[] image = Files.readAllBytes(img);
        for (int i = 0; i < n; i++) {
            byte want = (byte) (i * 7 + 1);
            for (int b = 0; b < size; b += 4096) {
                assertThat(image[i * size + b]).as("write %d, byte %d", i, b).isEqualTo(want);
            }
        }
        List<String> log = h.kernel(domid).log().lines();
        assertThat(log).contains("xen:manage: resumed in a new domain, devices reconnecting");
        assertThat(log).anyMatch(l -> l.matches("blkfront: xvda: \\d+ request\\(s\\) requeued for the resume"));
        assertThat(d.requeuedRequests()).isPositive();
        // The same disk object carried on: a read through it after the resume sees the last write.
        byte[] last = d.read((long) (n - 1) * (size / 512), size / 512).get(60, TimeUnit.SECONDS);
        assertThat(last[0]).isEqualTo((byte) ((n - 1) * 7 + 1));
    }

    private static byte[] block(int i, int size) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) (i * 7 + 1));
        return b;
    }
}
