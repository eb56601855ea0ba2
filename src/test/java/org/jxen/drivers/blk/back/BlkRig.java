package org.jxen.drivers.blk.back;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.BlkifRequest;
import org.jxen.drivers.blk.BlkifResponse;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.ring.BackRing;
import org.jxen.ring.FrontRing;
import org.jxen.ring.SharedRingLayout;

/**
 * An in-process host for blkback tests: dom0 and one guest. The guest grants a ring page and data pages to dom0
 * and drives a FrontRing; dom0 maps the ring and runs a {@link BlkbackRequestProcessor} on an image file.
 * Frames 0 and 1 are the guest's console and xenstore pages; the ring is frame 2, data pages follow.
 */
final class BlkRig implements AutoCloseable {
    static final int RING_FRAME = 2;
    static final int FIRST_DATA_FRAME = 3;

    final Hypervisor hv;
    final Hypercalls dom0;
    final Hypercalls guest;
    final int domid;
    final FrontRing front;
    final BackRing back;
    final GrantMapping ringMapping;
    final Path image;
    final BlockDevice disk;
    final BlkbackRequestProcessor processor;
    final List<Integer> dataRefs = new ArrayList<>();
    int notifications;
    private final MemorySegment rsp = Arena.ofAuto().allocate(BlkifResponse.SIZE, 8);

    BlkRig(Path dir, long imageBytes, boolean readOnly, int dataPages, int maxIndirect) throws Exception {
        this(dir, imageBytes, readOnly, dataPages, maxIndirect, null);
    }

    /** {@code grants} wraps the real mapper when not null (to inject failures). */
    BlkRig(Path dir, long imageBytes, boolean readOnly, int dataPages, int maxIndirect,
            java.util.function.UnaryOperator<GrantMapper> grants) throws Exception {
        hv = new Hypervisor(dir.resolve("hv"), 64);
        dom0 = hv.connect(0);
        domid = dom0.domainControl().createDomain(FIRST_DATA_FRAME + dataPages, 1);
        dom0.domainControl().unpause(domid);
        guest = hv.connect(domid);
        front = new FrontRing(new SharedRingLayout(guest.frame(RING_FRAME), Blkif.ENTRY_SIZE)).init();
        int ringRef = guest.grantTable().grantAccess(0, RING_FRAME, false);
        for (int i = 0; i < dataPages; i++) dataRefs.add(guest.grantTable().grantAccess(0, FIRST_DATA_FRAME + i, false));
        ringMapping = dom0.mapGrant(domid, ringRef, false);
        back = new BackRing(new SharedRingLayout(ringMapping.page(), Blkif.ENTRY_SIZE));
        image = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(imageBytes);
        }
        disk = DiskImage.open(image, readOnly);
        GrantMapper mapper = GrantMapper.of(dom0, domid);
        processor = new BlkbackRequestProcessor(back, disk, grants == null ? mapper : grants.apply(mapper),
                maxIndirect, () -> notifications++);
    }

    /** Guest memory of data page {@code i}. */
    MemorySegment page(int i) {
        return guest.frame(FIRST_DATA_FRAME + i);
    }

    int ref(int i) {
        return dataRefs.get(i);
    }

    BlkifRequest nextRequest() {
        return new BlkifRequest().wrap(front.nextRequest());
    }

    /** Pushes what the guest queued, runs the backend, and returns the responses in order. */
    List<Rsp> run() {
        front.pushRequestsAndCheckNotify();
        processor.processPending();
        List<Rsp> out = new ArrayList<>();
        while (front.copyNextResponse(rsp)) {
            BlkifResponse r = new BlkifResponse().wrap(rsp);
            out.add(new Rsp(r.id(), r.operation(), r.status()));
        }
        return out;
    }

    Rsp runOne() {
        List<Rsp> r = run();
        if (r.size() != 1) throw new AssertionError("expected one response, got " + r);
        return r.getFirst();
    }

    record Rsp(long id, int op, short status) {
    }

    @Override
    public void close() throws Exception {
        disk.close();
        dom0.unmapGrant(ringMapping.handle());
        guest.close();
        dom0.close();
        hv.close();
    }
}
