package org.jxen.system.blk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.system.blk.BlkWireHarness.WAIT;
import static org.jxen.system.blk.BlkWireHarness.be;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.BlkifRequest;
import org.jxen.drivers.blk.BlkifRequestIndirect;
import org.jxen.drivers.blk.BlkifResponse;
import org.jxen.drivers.blk.BlkifSegment;
import org.jxen.drivers.blk.front.BlkFront;
import org.jxen.drivers.blk.front.BlockFront;
import org.jxen.hypervisor.ChannelState;
import org.jxen.hypervisor.ChannelStatus;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.EventPage;
import org.jxen.hypervisor.GrantEntry;
import org.jxen.hypervisor.GrantTable;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.kernel.Kernel;
import org.jxen.system.TestGuestKernel;
import org.jxen.toolstack.Host;
import org.jxen.xenbus.XenbusResources;

/**
 * A malicious frontend on a real host: guest B runs {@link HostileBlkfront} instead of blkfront, which connects
 * B's disk as blkfront would; then the test, acting as B's kernel, writes hostile requests onto one of its real
 * shared rings with the blkif flyweights. Each gets the answer
 * Linux blkback gives (dispatch_rw_block_io and xen_blkbk_map fail the request with BLKIF_RSP_ERROR, an
 * unknown operation gets BLKIF_RSP_EOPNOTSUPP from dispatch_other_io), with its id and operation echoed, and
 * touches no byte of B's image or pages. An overflowed producer index then closes only B's device: guest A's
 * disk keeps serving verified I/O throughout, and after B's detach dom0 holds nothing of B and takes a new vbd
 * from it, which B, back on blkfront, uses.
 */
@Timeout(240)
class BlkMaliciousFrontendTest extends BlkWireFixture {
    static final int MIB = 1 << 20;
    static final int DEVID = 51712; // xvda

    static void assertResponse(BlkifResponse r, long id, int op, short status) {
        assertThat(r.id()).as("id echoed").isEqualTo(id);
        assertThat(r.operation()).as("operation of %x", id).isEqualTo(op);
        assertThat(r.status()).as("status of %x", id).isEqualTo(status);
    }

    static int[] seg(int gref, int first, int last) {
        return new int[] {gref, first, last};
    }

    /** Grants {@code domid} access to {@code page} of {@code k}'s memory; returns the ref. */
    static int grantPage(Kernel k, MemorySegment page, int domid, boolean readonly) throws Exception {
        int frame = (int) ((page.address() - k.hypercalls().memory().address()) / GrantEntry.PAGE_SIZE);
        return k.hypercalls().grantTable().grantAccess(domid, frame, readonly);
    }

    static byte[] bytes(MemorySegment page) {
        return page.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Guest A writes and reads back its own disk in a loop until stopped; the first mismatch or failure is kept. */
    static final class WellBehaved extends Thread {
        final BlockFront d;
        final byte[] expect;
        final AtomicLong rounds = new AtomicLong();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile boolean stop;

        WellBehaved(BlockFront d, byte[] image) {
            super("guest-a-io");
            this.d = d;
            this.expect = image.clone();
            setDaemon(true);
        }

        @Override
        public void run() {
            Random rnd = new Random(1001); // not the image's seed: a write that never landed would show
            try {
                while (!stop) {
                    int n = 1 + rnd.nextInt(300);
                    long s = rnd.nextLong(expect.length / 512 - n);
                    byte[] data = new byte[n * 512];
                    rnd.nextBytes(data);
                    d.write(s, data).get(WAIT, TimeUnit.SECONDS);
                    System.arraycopy(data, 0, expect, (int) s * 512, data.length);
                    byte[] got = d.read(s, n).get(WAIT, TimeUnit.SECONDS);
                    if (!Arrays.equals(got, data)) throw new AssertionError("guest A read back other bytes at " + s);
                    rounds.incrementAndGet();
                }
            } catch (Throwable e) {
                failure.set(e);
            }
        }

        /** Waits until A has done {@code more} further verified rounds (a failure ends the wait). */
        void awaitRounds(int more) throws InterruptedException {
            long target = rounds.get() + more;
            BlkWireHarness.awaitTrue("guest A's I/O", () -> rounds.get() >= target || failure.get() != null);
            assertThat(failure.get()).as("guest A's I/O").isNull();
        }
    }

    @Test
    void hostileRequestsGetErrorsAnOverflowedRingClosesOnlyThatDeviceAndOtherGuestsKeepWorking() throws Exception {
        Path imgA = BlkWireHarness.image(dir, "a.img", 4 * MIB, 21);
        Path imgB = BlkWireHarness.image(dir, "b.img", 2 * MIB, 22);
        byte[] origB = Files.readAllBytes(imgB);
        Host.Guest a = h.guest("a");
        Host.Guest b = h.guest("b", false, TestGuestKernel.class.getName());
        Kernel kb = h.kernel(b.domid());
        HostileBlkfront hostile = new HostileBlkfront();
        kb.load(hostile);
        h.attach(a.domid(), "vdev=xvda, target=" + imgA);
        BlockFront da = h.disk(a.domid(), "xvda");
        XenbusResources.Snapshot dom0WithA = h.host.dom0Kernel().xenbusResources().snapshot();
        WellBehaved ioA = new WellBehaved(da, Files.readAllBytes(imgA));
        ioA.start();
        try {
            // B's xenstore and console channels: dom0's only ports of B before its vbd and after it.
            List<String> dom0PortsOfBAlone = dom0PortsOf(b.domid());
            h.attach(b.domid(), "vdev=xvda, target=" + imgB);
            HostileBlkfront.Vbd db = hostile.vbd("xvda").get(WAIT, TimeUnit.SECONDS);
            assertThat(db.queues()).isGreaterThan(1);
            assertThat(dom0PortsOf(b.domid())).as("dom0's ports of B with its vbd")
                    .hasSize(dom0PortsOfBAlone.size() + db.queues());
            HostileBlkfront.Queue hb = db.queue(0);
            long sectors = db.sectors();
            int maxIndirect = Integer.parseInt(h.readOrNull(be(b.domid(), DEVID) + "/feature-max-indirect-segments"));
            assertThat(maxIndirect).isEqualTo(256);

            // B's own pages: one granted to dom0 (valid), one to dom0 read-only, one to guest A.
            GrantTable gt = kb.hypercalls().grantTable();
            MemorySegment mine = kb.allocPage();
            MemorySegment ro = kb.allocPage();
            MemorySegment forA = kb.allocPage();
            ro.fill((byte) 0x5a);
            forA.fill((byte) 0xa5);
            byte[] roBefore = bytes(ro);
            byte[] forABefore = bytes(forA);
            int refMine = grantPage(kb, mine, 0, false);
            int refRo = grantPage(kb, ro, 0, true);
            int refForA = grantPage(kb, forA, a.domid(), false);
            int neverGranted = gt.entries() - 1;
            assertThat(gt.flagsAndDomid(neverGranted)).as("ref %d unused", neverGranted).isZero();

            // The control: a well-formed request written by hand is served, so the errors below are the checks'.
            long at = 100;
            assertResponse(hb.rw(Blkif.OP_READ, 1, 0xc0, at, seg(refMine, 0, 7)), 0xc0, Blkif.OP_READ, Blkif.RSP_OKAY);
            assertThat(bytes(mine)).isEqualTo(Arrays.copyOfRange(origB, (int) at * 512, (int) at * 512 + 4096));
            mine.fill((byte) 0x33);
            byte[] mineBefore = bytes(mine);

            // (1) Grant refs B never granted (a free entry, one beyond the table): xen_blkbk_map fails, ERROR.
            assertResponse(hb.rw(Blkif.OP_READ, 1, 0x11, at, seg(neverGranted, 0, 7)), 0x11, Blkif.OP_READ, Blkif.RSP_ERROR);
            assertResponse(hb.rw(Blkif.OP_WRITE, 2, 0x12, at, seg(refMine, 0, 7), seg(neverGranted, 0, 7)), 0x12,
                    Blkif.OP_WRITE, Blkif.RSP_ERROR);
            assertResponse(hb.rw(Blkif.OP_READ, 1, 0x13, at, seg(0x7fff_ffff, 0, 7)), 0x13, Blkif.OP_READ, Blkif.RSP_ERROR);

            // (2) A ref B granted to guest A, not to dom0; and a read into a page granted to dom0 read-only.
            assertResponse(hb.rw(Blkif.OP_READ, 1, 0x21, at, seg(refForA, 0, 7)), 0x21, Blkif.OP_READ, Blkif.RSP_ERROR);
            assertResponse(hb.rw(Blkif.OP_WRITE, 1, 0x22, at, seg(refForA, 0, 7)), 0x22, Blkif.OP_WRITE, Blkif.RSP_ERROR);
            assertResponse(hb.rw(Blkif.OP_READ, 1, 0x23, at, seg(refRo, 0, 7)), 0x23, Blkif.OP_READ, Blkif.RSP_ERROR);
            assertThat(bytes(forA)).as("the page granted to A").isEqualTo(forABefore);
            assertThat(bytes(ro)).as("the read-only page").isEqualTo(roBefore);

            // (3) Segments outside their page: first_sect > last_sect, last_sect >= 8.
            assertResponse(hb.rw(Blkif.OP_WRITE, 1, 0x31, at, seg(refMine, 3, 2)), 0x31, Blkif.OP_WRITE, Blkif.RSP_ERROR);
            assertResponse(hb.rw(Blkif.OP_WRITE, 1, 0x32, at, seg(refMine, 0, 8)), 0x32, Blkif.OP_WRITE, Blkif.RSP_ERROR);
            assertResponse(hb.rw(Blkif.OP_READ, 1, 0x33, at, seg(refMine, 7, 255)), 0x33, Blkif.OP_READ, Blkif.RSP_ERROR);
            assertResponse(hb.rw(Blkif.OP_WRITE, 2, 0x34, at, seg(refMine, 0, 7), seg(refMine, 6, 5)), 0x34,
                    Blkif.OP_WRITE, Blkif.RSP_ERROR);

            // (4) Beyond the end of the disk: straddling it, just past it, and wrapping around 2^64.
            assertResponse(hb.rw(Blkif.OP_WRITE, 1, 0x41, sectors - 1, seg(refMine, 0, 1)), 0x41, Blkif.OP_WRITE,
                    Blkif.RSP_ERROR);
            assertResponse(hb.rw(Blkif.OP_WRITE, 1, 0x42, sectors, seg(refMine, 0, 0)), 0x42, Blkif.OP_WRITE, Blkif.RSP_ERROR);
            assertResponse(hb.rw(Blkif.OP_WRITE, 1, 0x43, -4L, seg(refMine, 0, 7)), 0x43, Blkif.OP_WRITE, Blkif.RSP_ERROR);
            assertResponse(hb.rw(Blkif.OP_READ, 1, 0x44, sectors - 7, seg(refMine, 0, 7)), 0x44, Blkif.OP_READ,
                    Blkif.RSP_ERROR);

            // (5) Segment counts: 0 and 12 on a direct request, one more than advertised on an indirect one whose
            // descriptors are otherwise valid (so only the count can refuse it).
            assertResponse(hb.rw(Blkif.OP_READ, 0, 0x51, at), 0x51, Blkif.OP_READ, Blkif.RSP_ERROR);
            int[][] eleven = new int[11][];
            Arrays.fill(eleven, seg(refMine, 0, 7));
            assertResponse(hb.rw(Blkif.OP_WRITE, 12, 0x52, at, eleven), 0x52, Blkif.OP_WRITE, Blkif.RSP_ERROR);
            MemorySegment ind = kb.allocPage();
            int refInd = grantPage(kb, ind, 0, true);
            for (int i = 0; i < maxIndirect + 1; i++) BlkifSegment.set(ind, (long) i * BlkifSegment.SIZE, refMine, 0, 7);
            assertResponse(hb.send(s -> new BlkifRequestIndirect().wrap(s).set(Blkif.OP_WRITE, maxIndirect + 1, 0x53, 0, 0)
                    .setIndirectGref(0, refInd)), 0x53, Blkif.OP_WRITE, Blkif.RSP_ERROR);
            // The same page with the advertised maximum is served (a read: the image stays as it is).
            assertResponse(hb.send(s -> new BlkifRequestIndirect().wrap(s).set(Blkif.OP_READ, maxIndirect, 0x54, 0, 0)
                    .setIndirectGref(0, refInd)), 0x54, Blkif.OP_READ, Blkif.RSP_OKAY);
            assertThat(bytes(mine)).isEqualTo(Arrays.copyOfRange(origB, (maxIndirect - 1) * 4096, maxIndirect * 4096));
            mine.fill((byte) 0x33);

            // (6) Unknown operations: EOPNOTSUPP with the operation echoed (SLES' reserved 4, 7, 255).
            for (int op : new int[] {Blkif.OP_RESERVED_1, 7, 255}) {
                long id = 0x60 + op;
                assertResponse(hb.send(s -> new BlkifRequest().wrap(s).set(op, 1, 0, id, at).setSegment(0, refMine, 0, 7)),
                        id, op, Blkif.RSP_EOPNOTSUPP);
            }

            assertThat(bytes(mine)).as("B's page after the refused requests").isEqualTo(mineBefore);
            assertThat(Files.readAllBytes(imgB)).as("B's image after the refused requests").isEqualTo(origB);
            // The ring still serves B after all of it, and A never stopped.
            assertResponse(hb.rw(Blkif.OP_READ, 1, 0xc1, 8, seg(refMine, 0, 7)), 0xc1, Blkif.OP_READ, Blkif.RSP_OKAY);
            assertThat(bytes(mine)).isEqualTo(Arrays.copyOfRange(origB, 8 * 512, 8 * 512 + 4096));
            ioA.awaitRounds(2);

            // (7) req_prod more than a ring ahead of what the backend consumed: only B's vbd goes.
            int cons = hb.ring().layout().rspProd();
            hb.ring().layout().setReqProd(cons + hb.ring().size() + 1);
            hb.notifyBackend();
            String err = "/local/domain/0/error/backend/vbd/" + b.domid() + "/" + DEVID + "/error";
            assertThat(h.awaitValue(err, v -> v.startsWith(Errno.EPROTO.code + " "), WAIT)).as("error node").isTrue();
            assertThat(h.awaitValue(be(b.domid(), DEVID) + "/state", v -> v.equals("5") || v.equals("6"), WAIT))
                    .as("B's backend Closing or Closed").isTrue();
            assertThat(h.readOrNull(be(a.domid(), DEVID) + "/state")).isEqualTo("4");
            ioA.awaitRounds(3);

            // Detach B: dom0 is back to A's resources alone, holds no port bound to B, and maps no page of B.
            h.detach(b.domid(), "xvda");
            BlkWireHarness.awaitTrue("dom0 releasing B's vbd",
                    () -> h.host.dom0Kernel().xenbusResources().snapshot().equals(dom0WithA));
            assertThat(dom0PortsOf(b.domid())).isEqualTo(dom0PortsOfBAlone);
            BlkWireHarness.awaitTrue("no page of B mapped", () -> mapped(gt).isEmpty());
            // blkback closes the image after it released the rings (xen_blkbk_remove: disconnect, then xen_vbd_free).
            BlkWireHarness.awaitTrue("B's image closed", () -> !BlkWireHarness.openInThisJvm(imgB));
            assertThat(Files.readAllBytes(imgB)).isEqualTo(origB);

            // dom0's blkback takes a new vbd from B, and it works: B is back on blkfront.
            kb.unload(HostileBlkfront.NAME);
            kb.load(new BlkFront());
            h.attach(b.domid(), "vdev=xvda, target=" + imgB);
            BlockFront db2 = h.disk(b.domid(), "xvda");
            assertThat(db2).isNotSameAs(db);
            byte[] data = new byte[64 * 512];
            new Random(23).nextBytes(data);
            db2.write(300, data).get(WAIT, TimeUnit.SECONDS);
            assertThat(db2.read(300, 64).get(WAIT, TimeUnit.SECONDS)).isEqualTo(data);
            byte[] expectB = origB.clone();
            System.arraycopy(data, 0, expectB, 300 * 512, data.length);
            assertThat(Files.readAllBytes(imgB)).isEqualTo(expectB);
            ioA.awaitRounds(2);
        } finally {
            ioA.stop = true;
            ioA.join(TimeUnit.SECONDS.toMillis(WAIT));
        }
        assertThat(ioA.failure.get()).as("guest A's I/O").isNull();
        assertThat(Files.readAllBytes(imgA)).as("guest A's image").isEqualTo(ioA.expect);
    }

    /** dom0's ports that are bound to, or offered to, {@code domid}. */
    List<String> dom0PortsOf(int domid) throws Exception {
        Hypercalls dom0 = h.host.dom0();
        List<String> found = new ArrayList<>();
        for (int p = 1; p < EventPage.MAX_PORTS; p++) {
            ChannelStatus s = dom0.status(p);
            if ((s.state() == ChannelState.INTERDOMAIN || s.state() == ChannelState.UNBOUND) && s.remoteDom() == domid) {
                found.add(p + ": " + s);
            }
        }
        return found;
    }

    /**
     * The refs of {@code gt} that some domain has mapped (GTF_reading or GTF_writing, set by the hypervisor), but
     * the toolstack's console and xenstore pages (refs 0 and 1), which dom0 keeps mapped while the guest lives.
     */
    static List<Integer> mapped(GrantTable gt) {
        List<Integer> refs = new ArrayList<>();
        for (int ref = 2; ref < gt.entries(); ref++) {
            int flags = GrantEntry.flags(gt.flagsAndDomid(ref));
            if ((flags & (GrantEntry.GTF_READING | GrantEntry.GTF_WRITING)) != 0) refs.add(ref);
        }
        return refs;
    }
}
