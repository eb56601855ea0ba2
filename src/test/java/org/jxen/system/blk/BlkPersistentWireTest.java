package org.jxen.system.blk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.system.blk.BlkWireHarness.WAIT;
import static org.jxen.system.blk.BlkWireHarness.be;
import static org.jxen.system.blk.BlkWireHarness.fe;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.jxen.drivers.blk.back.BlkBack;
import org.jxen.drivers.blk.front.BlkFront;
import org.jxen.drivers.blk.front.BlockFront;
import org.jxen.hypervisor.GrantEntry;
import org.jxen.hypervisor.GrantTable;
import org.jxen.kernel.Kernel;
import org.jxen.system.TestGuestKernel;
import org.jxen.toolstack.Host;

/** feature-persistent end to end: negotiated as Xen does, used only when both ends offer it, released on detach. */
@Timeout(240)
class BlkPersistentWireTest extends BlkWireFixture {
    static final int MIB = 1 << 20;

    @Test
    void bothOfferItSoItIsUsedAndDetachReleasesEveryMapping() throws Exception {
        Host.Guest g = h.guest("g1");
        BlockFront d = attach(g);
        assertThat(h.readOrNull(be(g.domid(), 51712) + "/feature-persistent")).isEqualTo("1");
        assertThat(h.readOrNull(fe(g.domid(), 51712) + "/feature-persistent")).isEqualTo("1");
        assertThat(d.persistentGrants()).isTrue();
        BlkWireHarness.awaitTrue("blkback logging persistent grants", () -> h.host.dom0Kernel().log().lines().stream()
                .anyMatch(l -> l.contains("blkback") && l.contains("persistent grants")));
        exercise(d);
        detachAndCheckNothingStaysMapped(g);
    }

    @Test
    void theFrontendDoesNotOfferItSoTheBackendMapsPerRequest() throws Exception {
        Host.Guest g = h.guest("g1", false, TestGuestKernel.class.getName(), BlkFront.NAME + " feature_persistent=0");
        BlockFront d = attach(g);
        assertThat(h.readOrNull(be(g.domid(), 51712) + "/feature-persistent")).isEqualTo("1");
        assertThat(h.readOrNull(fe(g.domid(), 51712) + "/feature-persistent")).isEqualTo("0");
        assertThat(d.persistentGrants()).isFalse();
        exercise(d);
        assertThat(h.host.dom0Kernel().log().lines()).noneMatch(l -> l.contains("persistent grants"));
        detachAndCheckNothingStaysMapped(g);
    }

    @Test
    void theBackendDoesNotOfferItSoTheBackendMapsPerRequest() throws Exception {
        Kernel dom0 = h.host.dom0Kernel();
        dom0.unload(BlkBack.NAME);
        dom0.load(new BlkBack(BlkBack.Params.DEFAULT.withFeaturePersistent(false)));
        Host.Guest g = h.guest("g1");
        BlockFront d = attach(g);
        assertThat(h.readOrNull(be(g.domid(), 51712) + "/feature-persistent")).isEqualTo("0");
        assertThat(h.readOrNull(fe(g.domid(), 51712) + "/feature-persistent")).isEqualTo("1");
        assertThat(d.persistentGrants()).isFalse();
        exercise(d);
        assertThat(dom0.log().lines()).noneMatch(l -> l.contains("persistent grants"));
        detachAndCheckNothingStaysMapped(g);
    }

    private Path img;
    private byte[] file;

    private BlockFront attach(Host.Guest g) throws Exception {
        img = BlkWireHarness.image(dir, "disk.img", 8 * MIB, 5);
        file = Files.readAllBytes(img);
        h.attach(g.domid(), "format=raw, vdev=xvda, access=rw, target=" + img);
        return h.disk(g.domid(), "xvda");
    }

    /** Many requests of many sizes (the pool's pages reused again and again), checked against the file. */
    private void exercise(BlockFront d) throws Exception {
        Random rnd = new Random(11);
        for (int i = 0; i < 150; i++) {
            int sectors = 1 + rnd.nextInt(i % 10 == 0 ? 3000 : 64);
            long sector = rnd.nextInt((int) (d.sectors() - sectors));
            if (rnd.nextBoolean()) {
                byte[] data = new byte[sectors * 512];
                rnd.nextBytes(data);
                d.write(sector, data).get(WAIT, TimeUnit.SECONDS);
                System.arraycopy(data, 0, file, (int) sector * 512, data.length);
            } else {
                assertThat(d.read(sector, sectors).get(WAIT, TimeUnit.SECONDS))
                        .isEqualTo(Arrays.copyOfRange(file, (int) sector * 512, (int) (sector + sectors) * 512));
            }
        }
        d.flush().get(WAIT, TimeUnit.SECONDS);
        assertThat(Files.readAllBytes(img)).isEqualTo(file);
    }

    /** After detach every grant of the guest (but the reserved console and xenstore ones) is ended: none is left mapped. */
    private void detachAndCheckNothingStaysMapped(Host.Guest g) throws Exception {
        Kernel guest = h.kernel(g.domid());
        h.detach(g.domid(), "xvda");
        BlkWireHarness.awaitTrue("dom0 releasing the vbd", () -> h.host.dom0Kernel().xenbusResources().snapshot().isEmpty());
        BlkWireHarness.awaitTrue("guest releasing the vbd", () -> guest.xenbusResources().snapshot().isEmpty());
        GrantTable gt = guest.hypercalls().grantTable();
        BlkWireHarness.awaitTrue("every grant ended", () -> {
            for (int ref = 2; ref < gt.entries(); ref++) {
                int flags = GrantEntry.flags(gt.flagsAndDomid(ref));
                if ((flags & (GrantEntry.GTF_TYPE_MASK | GrantEntry.GTF_READING | GrantEntry.GTF_WRITING)) != 0) return false;
            }
            return true;
        });
    }
}
