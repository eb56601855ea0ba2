package org.jxen.drivers.blk.front;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.BlkifRequest;
import org.jxen.drivers.blk.BlkifRequestDiscard;
import org.jxen.drivers.blk.BlkifRequestIndirect;
import org.jxen.drivers.blk.BlkifResponse;
import org.jxen.drivers.blk.BlkifSegment;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.FrontRing;
import org.jxen.ring.RingOverflowException;
import org.jxen.xenbus.XenbusDevice;

/**
 * One hardware queue of blkfront (Linux's blkfront_ring_info): a shared blkif ring and its event channel (set up
 * by xenbus's FrontRings, see {@link RingSet}), the shadow of every request on it by id, and the encoding of
 * requests into ring slots and of responses out of them with the blkif flyweights. Not thread-safe: its
 * {@link RequestQueue} holds the lock.
 */
final class FrontQueue {
    /** What sits on the ring under an id: the request and the pool pages it uses (data pages first). */
    record Shadow(Request req, PagePool.Page[] pages, int nData) {}

    final int index;
    private final int handle;
    private final FrontRing ring;
    private final int port;
    private final Shadow[] shadows;
    private final ArrayDeque<Integer> freeIds = new ArrayDeque<>();
    private final MemorySegment copy = Arena.ofAuto().allocate(Blkif.ENTRY_SIZE, 8);
    private final BlkifResponse response = new BlkifResponse();
    private final BlkifRequest rw = new BlkifRequest();
    private final BlkifRequestDiscard discard = new BlkifRequestDiscard();
    private final BlkifRequestIndirect indirect = new BlkifRequestIndirect();
    /** Scratch for one indirect page's segment descriptors. */
    private final long[] descriptors = new long[Blkif.SEGMENTS_PER_INDIRECT_PAGE];
    /** A bogus response producer was seen: the queue takes nothing more on or off its ring. */
    private boolean broken;
    /** Requests were put on the ring since the last push (one push per ring per pass). */
    private boolean touched;

    /**
     * @param ring the queue's initialised front ring
     * @param port its event channel
     * @param devid the device number, whose low 16 bits are every request's handle
     */
    FrontQueue(int index, FrontRing ring, int port, int devid) {
        this.index = index;
        this.handle = devid & 0xffff;
        this.ring = ring;
        this.port = port;
        this.shadows = new Shadow[ring.size()];
        for (int id = 0; id < shadows.length; id++) freeIds.add(id);
    }

    /** Requests the ring holds at once. */
    int size() {
        return ring.size();
    }

    /** Whether a request can go on now: the queue works, the ring has a free slot and an id is free. */
    boolean hasRoom() {
        return !broken && !ring.isFull() && !freeIds.isEmpty();
    }

    /**
     * Puts {@code r} on the ring under a free id (the write data must be in its pages already): its segments name
     * the data pages, or, beyond 11 segments, an indirect request names {@code nInd} indirect pages (after the data
     * pages in {@code pages}) that hold the descriptors. The backend sees it after the next {@link #push}.
     */
    void put(Request r, PagePool.Page[] pages, int nData, int nInd) {
        int id = freeIds.poll();
        MemorySegment slot = ring.nextRequest();
        switch (r.op) {
            case Blkif.OP_FLUSH_DISKCACHE -> rw.wrap(slot).set(r.op, 0, handle, id, 0);
            case Blkif.OP_DISCARD -> discard.wrap(slot).set(0, handle, id, r.sector, r.nsect);
            default -> {
                // Every data page is full but the last, which holds the remaining 1..8 sectors.
                int lastOfLast = (int) ((r.nsect - 1) % Blkif.SECTORS_PER_PAGE);
                if (nInd == 0) {
                    BlkifRequest req = rw.wrap(slot).set(r.op, nData, handle, id, r.sector);
                    for (int i = 0; i < nData; i++) {
                        req.setSegment(i, pages[i].ref(), 0, i == nData - 1 ? lastOfLast : Blkif.SECTORS_PER_PAGE - 1);
                    }
                } else {
                    BlkifRequestIndirect req = indirect.wrap(slot).set(r.op, nData, id, r.sector, handle);
                    for (int p = 0; p < nInd; p++) {
                        PagePool.Page ind = pages[nData + p];
                        req.setIndirectGref(p, ind.ref());
                        // Descriptors are assembled in an array and stored with one bulk copy.
                        int from = p * Blkif.SEGMENTS_PER_INDIRECT_PAGE;
                        int to = Math.min(nData, from + Blkif.SEGMENTS_PER_INDIRECT_PAGE);
                        for (int i = from; i < to; i++) {
                            descriptors[i - from] = BlkifSegment.word(pages[i].ref(), 0,
                                    i == nData - 1 ? lastOfLast : Blkif.SECTORS_PER_PAGE - 1);
                        }
                        BlkifSegment.setAll(ind.seg(), descriptors, to - from);
                    }
                }
            }
        }
        shadows[id] = new Shadow(r, pages, nData);
        touched = true;
    }

    /**
     * Publishes the requests put since the last push; true if the backend must be notified (call {@link #notify}
     * then).
     */
    boolean push() {
        if (!touched) return false;
        touched = false;
        return ring.pushRequestsAndCheckNotify();
    }

    void notify(XenbusDevice dev) throws HypercallException {
        dev.notify(port);
    }

    /**
     * Copies the next response off the ring into private memory, where {@link #response()} reads it; false when
     * none is left, after re-arming rsp_event (RING_FINAL_CHECK_FOR_RESPONSES) found none either.
     *
     * @throws RingOverflowException the backend's response producer is bogus: the queue is broken from now on
     */
    boolean nextResponse() throws RingOverflowException {
        if (broken) return false;
        try {
            if (ring.copyNextResponse(copy)) return true;
            return ring.finalCheckForResponses() && ring.copyNextResponse(copy);
        } catch (RingOverflowException e) {
            broken = true;
            throw e;
        }
    }

    /** The response {@link #nextResponse} copied. */
    BlkifResponse response() {
        return response.wrap(copy);
    }

    /** Takes the request under {@code id} off the queue and frees the id; null if no request has that id. */
    Shadow take(long id) {
        Shadow s = id >= 0 && id < shadows.length ? shadows[(int) id] : null;
        if (s == null) return null;
        shadows[(int) id] = null;
        freeIds.add((int) id);
        return s;
    }

    /** Takes every request still on the ring off the queue (the ring is going away). */
    List<Request> strand() {
        List<Request> stranded = new ArrayList<>();
        for (int id = 0; id < shadows.length; id++) {
            Shadow s = take(id);
            if (s != null) stranded.add(s.req());
        }
        return stranded;
    }
}
