package org.jxen.drivers.blk.back;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.BlkifRequest;
import org.jxen.drivers.blk.BlkifRequestDiscard;
import org.jxen.drivers.blk.BlkifRequestIndirect;
import org.jxen.drivers.blk.BlkifResponse;
import org.jxen.drivers.blk.BlkifSegment;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.ring.BackRing;
import org.jxen.ring.RingOverflowException;

/**
 * The data path of blkback for one ring: takes requests off the shared ring, validates them, maps the
 * frontend's grants, does the I/O on a {@link BlockDevice} and answers every request with its id, its
 * operation and a status.
 *
 * <p>The frontend is untrusted. Each request is copied out of the ring before anything is looked at, and
 * indirect segment descriptors are copied out of their pages into private arrays before validation, so a
 * frontend rewriting shared memory meanwhile changes nothing (no double fetch). Validation follows Linux
 * blkback: 1..11 segments (indirect: 1..{@code maxIndirectSegments}), first_sect &lt;= last_sect &lt;= 7, the
 * whole range inside the disk, no writes, flushes or discards on a read-only disk; a failed grant map fails
 * the request. Failures answer ERROR, unknown operations EOPNOTSUPP; none stops the ring. A bogus producer
 * index (RingOverflowException) does: the ring is halted and this processor reports {@link #failure()}, so
 * the owner can put the device into an error state while its thread carries on serving other devices.
 *
 * <p>Requests are done synchronously in ring order, all segments of one request in one vectored call. Every
 * request pending at a wake-up is served in one batch; small requests' responses are pushed at the end of it
 * (one push and at most one notification per batch), while a request that moved at least
 * {@link #PUSH_AT_ONCE_BYTES} is answered at once, so the frontend copies its data while the next one is read.
 * A request's grants are mapped and unmapped together ({@link GrantMapper#mapAll}), per request, or kept mapped
 * when {@code grants} is a {@link PersistentGrants} (feature-persistent): its unmap of a kept mapping does
 * nothing. The per-segment work allocates nothing. Not thread-safe: one event thread drives it.
 */
public final class BlkbackRequestProcessor {
    private final BackRing ring;
    private final BlockDevice disk;
    private final GrantMapper grants;
    private final int maxIndirectSegments;
    private final Runnable notify;

    private final MemorySegment copy;
    private final BlkifRequest rw = new BlkifRequest();
    private final BlkifRequestDiscard discard = new BlkifRequestDiscard();
    private final BlkifRequestIndirect indirect = new BlkifRequestIndirect();
    private final BlkifResponse response = new BlkifResponse();

    /** The current request's segments, private copies. */
    private final int[] grefs;
    private final int[] firsts;
    private final int[] lasts;
    private final GrantMapping[] maps;
    private final MemorySegment[] bufs;

    /**
     * Requests that moved at least this many bytes get their response pushed at once rather than at the end of
     * the batch (64 KiB: about 3 us of copying, far more than a push and an event).
     */
    static final long PUSH_AT_ONCE_BYTES = 64 << 10;

    /** Bytes the current request moved between the disk and the frontend's pages. */
    private long moved;
    private RingOverflowException failure;
    private long completed;

    /**
     * @param maxIndirectSegments what the backend advertises as feature-max-indirect-segments (0: indirect
     *     requests are unsupported and answered EOPNOTSUPP); at most {@link Blkif#MAX_INDIRECT_SEGMENTS}
     * @param notify sends the event to the frontend when the ring says it wants one
     */
    public BlkbackRequestProcessor(BackRing ring, BlockDevice disk, GrantMapper grants, int maxIndirectSegments,
            Runnable notify) {
        if (maxIndirectSegments < 0 || maxIndirectSegments > Blkif.MAX_INDIRECT_SEGMENTS) {
            throw new IllegalArgumentException("max indirect segments " + maxIndirectSegments);
        }
        if (ring.layout().entrySize() < Blkif.ENTRY_SIZE) throw new IllegalArgumentException("not a blkif ring");
        this.ring = ring;
        this.disk = disk;
        this.grants = grants;
        this.maxIndirectSegments = maxIndirectSegments;
        this.notify = notify;
        // Shared arena: the event thread that calls us may change over the device's life.
        this.copy = Arena.ofAuto().allocate(BlkifRequest.SIZE, 8);
        int n = Math.max(Blkif.MAX_SEGMENTS_PER_REQUEST, maxIndirectSegments);
        grefs = new int[n];
        firsts = new int[n];
        lasts = new int[n];
        maps = new GrantMapping[n];
        bufs = new MemorySegment[n];
    }

    /**
     * Serves every pending request, then re-arms req_event (RING_FINAL_CHECK_FOR_REQUESTS) and repeats until
     * none is left; call it on each event from the frontend. Returns false once the ring is broken.
     */
    public boolean processPending() {
        if (failure != null) return false;
        try {
            do {
                while (ring.copyNextRequest(copy)) {
                    moved = 0;
                    handle();
                    completed++;
                    // A large transfer is answered at once (Linux blkback pushes every response as its bio
                    // ends): the frontend copies its data out while we read the next one. Small ones wait for
                    // the end of the batch, so a burst of them costs one push and at most one event.
                    if (moved >= PUSH_AT_ONCE_BYTES) push();
                }
                push();
            } while (ring.finalCheckForRequests());
            return true;
        } catch (RingOverflowException e) {
            failure = e;
            return false;
        }
    }

    private void push() {
        if (ring.pushResponsesAndCheckNotify()) notify.run();
    }

    /** The overflow that halted the ring, or null while it works. */
    public RingOverflowException failure() {
        return failure;
    }

    /** Requests answered so far. */
    public long completed() {
        return completed;
    }

    private void handle() {
        int op = rw.wrap(copy).operation();
        long id = rw.id(); // at offset 8 in every request variant
        int rspOp = op;
        short status;
        try {
            status = switch (op) {
                case Blkif.OP_READ -> direct(false);
                case Blkif.OP_WRITE -> direct(true);
                case Blkif.OP_WRITE_BARRIER, Blkif.OP_FLUSH_DISKCACHE -> flush();
                case Blkif.OP_DISCARD -> discard();
                case Blkif.OP_INDIRECT -> {
                    rspOp = indirect.wrap(copy).indirectOp(); // blkfront expects the inner op back
                    yield indirect();
                }
                default -> Blkif.RSP_EOPNOTSUPP;
            };
        } catch (RuntimeException e) {
            // A fault in one request (a backend bug) fails that request, never the ring or the thread.
            status = Blkif.RSP_ERROR;
        }
        response.wrap(ring.nextResponse()).set(id, rspOp, status);
    }

    private short direct(boolean write) {
        int nseg = rw.nrSegments();
        if (nseg == 0 || nseg > Blkif.MAX_SEGMENTS_PER_REQUEST) return Blkif.RSP_ERROR;
        copyDirectSegments(nseg);
        return transfer(rw.sectorNumber(), nseg, write);
    }

    /** WRITE_BARRIER and FLUSH_DISKCACHE: the segments (0 to 11) are written, then everything is made durable. */
    private short flush() {
        int nseg = rw.nrSegments();
        if (nseg > Blkif.MAX_SEGMENTS_PER_REQUEST) return Blkif.RSP_ERROR;
        if (disk.readOnly()) return Blkif.RSP_ERROR; // Linux blkback: a flush is a write to the vbd
        if (nseg > 0) {
            copyDirectSegments(nseg);
            short s = transfer(rw.sectorNumber(), nseg, true);
            if (s != Blkif.RSP_OKAY) return s;
        }
        try {
            disk.flush();
            return Blkif.RSP_OKAY;
        } catch (DiskException e) {
            return e.blkifStatus();
        }
    }

    private short discard() {
        discard.wrap(copy);
        long sector = discard.sectorNumber();
        long count = discard.nrSectors();
        if (disk.readOnly() || !disk.inRange(sector, count)) return Blkif.RSP_ERROR;
        if (!disk.discardSupported()) return Blkif.RSP_EOPNOTSUPP;
        try {
            disk.discard(sector, count); // the secure flag is not honoured: we never advertise discard-secure
            return Blkif.RSP_OKAY;
        } catch (DiskException e) {
            return e.blkifStatus();
        }
    }

    private short indirect() {
        int op = indirect.indirectOp();
        int nseg = indirect.nrSegments();
        if (maxIndirectSegments == 0) return Blkif.RSP_EOPNOTSUPP;
        if (op != Blkif.OP_READ && op != Blkif.OP_WRITE) return Blkif.RSP_ERROR;
        if (nseg == 0 || nseg > maxIndirectSegments) return Blkif.RSP_ERROR;
        int pages = BlkifRequestIndirect.pagesFor(nseg);
        for (int p = 0; p < pages; p++) {
            GrantMapping page;
            try {
                page = grants.map(indirect.indirectGref(p), true);
            } catch (GrantException e) {
                return Blkif.RSP_ERROR;
            }
            try {
                int from = p * Blkif.SEGMENTS_PER_INDIRECT_PAGE;
                int to = Math.min(nseg, from + Blkif.SEGMENTS_PER_INDIRECT_PAGE);
                MemorySegment m = page.page();
                for (int i = from; i < to; i++) { // each descriptor is read exactly once, whole
                    long d = BlkifSegment.word(m, (long) (i - from) * BlkifSegment.SIZE);
                    grefs[i] = BlkifSegment.gref(d);
                    firsts[i] = BlkifSegment.firstSect(d);
                    lasts[i] = BlkifSegment.lastSect(d);
                }
            } finally {
                grants.unmap(page);
            }
        }
        return transfer(indirect.sectorNumber(), nseg, op == Blkif.OP_WRITE);
    }

    private void copyDirectSegments(int nseg) {
        for (int i = 0; i < nseg; i++) {
            grefs[i] = rw.gref(i);
            firsts[i] = rw.firstSect(i);
            lasts[i] = rw.lastSect(i);
        }
    }

    /** Validates the private segment arrays, maps them, and moves the data in one vectored call. */
    private short transfer(long sector, int nseg, boolean write) {
        long sectors = 0;
        for (int i = 0; i < nseg; i++) {
            if (!BlkifSegment.valid(firsts[i], lasts[i])) return Blkif.RSP_ERROR;
            sectors += lasts[i] - firsts[i] + 1;
        }
        if (!disk.inRange(sector, sectors)) return Blkif.RSP_ERROR;
        if (write && disk.readOnly()) return Blkif.RSP_ERROR;
        try {
            // Disk writes read guest pages (map read-only); disk reads fill them (map writable).
            grants.mapAll(grefs, nseg, write, maps);
        } catch (GrantException e) {
            return Blkif.RSP_ERROR; // mapAll unmapped whatever it had mapped
        }
        try {
            for (int i = 0; i < nseg; i++) bufs[i] = buffer(maps[i].page(), firsts[i], lasts[i]);
            if (write) disk.write(sector, bufs, nseg);
            else disk.read(sector, bufs, nseg);
            moved = sectors << Blkif.SECTOR_SHIFT;
            return Blkif.RSP_OKAY;
        } catch (DiskException e) {
            return e.blkifStatus();
        } finally {
            grants.unmapAll(maps, nseg);
            Arrays.fill(bufs, 0, nseg, null);
        }
    }

    /** The sectors first..last of a mapped page; a whole page is used as it is (no slice allocated per segment). */
    private static MemorySegment buffer(MemorySegment page, int first, int last) {
        if (first == 0 && last == Blkif.SECTORS_PER_PAGE - 1 && page.byteSize() == Blkif.PAGE_SIZE) return page;
        return page.asSlice((long) first << Blkif.SECTOR_SHIFT, (long) (last - first + 1) << Blkif.SECTOR_SHIFT);
    }
}
