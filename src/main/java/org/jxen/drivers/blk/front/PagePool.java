package org.jxen.drivers.blk.front;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import org.jxen.drivers.blk.Blkif;
import org.jxen.hypervisor.HypercallException;
import org.jxen.kernel.Disk;
import org.jxen.xenbus.XenbusDevice;

/**
 * blkfront's buffer pool: pages of guest memory granted to the backend once, at connect, that carry every
 * request's data and indirect descriptors (with feature-persistent the backend keeps them mapped).
 *
 * <p>Pages are handed out lowest index first. The pool is allocated in one go, so its pages are mostly
 * consecutive frames of guest memory, and a request gets consecutive frames whenever they are free. The
 * copies between the caller's buffer and the pool ({@link #copyOut}, {@link #copyIn}) then move each run of
 * consecutive frames in one call instead of one per page: 256 calls per 1 MiB cost ~6 us of bounds checks
 * on top of ~20 us of copying. Not thread-safe (guarded by its {@link RequestQueue}).
 */
final class PagePool {
    /** A pool page: its memory, its grant ref, its index in the pool and its offset in the domain's memory. */
    record Page(MemorySegment seg, int ref, int index, long offset) {}

    private final MemorySegment memory;
    private final Page[] pages;
    /** joinsNext[i]: page i + 1 follows page i in memory. */
    private final boolean[] joinsNext;
    private final BitSet free = new BitSet();
    private int available;

    /**
     * @param memory the domain's memory, of which every page is a slice (runs are copied through it)
     * @param segs the pages, in allocation order
     * @param refs their grant refs
     */
    PagePool(MemorySegment memory, MemorySegment[] segs, int[] refs) {
        this.memory = memory;
        this.pages = new Page[segs.length];
        this.joinsNext = new boolean[segs.length];
        for (int i = 0; i < segs.length; i++) {
            long off = segs[i].address() - memory.address();
            if (off < 0 || off + Blkif.PAGE_SIZE > memory.byteSize() || segs[i].byteSize() != Blkif.PAGE_SIZE) {
                throw new IllegalArgumentException("page " + i + " is not a page of the domain's memory");
            }
            pages[i] = new Page(segs[i], refs[i], i, off);
            if (i > 0) joinsNext[i - 1] = pages[i - 1].offset + Blkif.PAGE_SIZE == off;
        }
        free.set(0, segs.length);
        available = segs.length;
    }

    /**
     * Allocates {@code n} pages of the domain's memory and grants them to the other end of {@code dev}; a guest
     * too small for the pool runs out of frames part way, and then gets back what was taken.
     */
    static PagePool grant(XenbusDevice dev, int n) throws HypercallException {
        MemorySegment[] segs = new MemorySegment[n];
        int allocated = 0;
        int[] refs;
        try {
            for (; allocated < n; allocated++) segs[allocated] = dev.xenbus().allocPage();
            refs = dev.grantRing(segs);
        } catch (HypercallException | RuntimeException e) {
            for (int i = 0; i < allocated; i++) dev.xenbus().freePage(segs[i]);
            throw e;
        }
        return new PagePool(dev.xenbus().hypercalls().memory(), segs, refs);
    }

    /** Ends the grants of {@code pages} and frees them (both deferred while the backend still maps a page). */
    static void release(XenbusDevice dev, Page[] pages) {
        for (Page p : pages) dev.endAccessAndFree(p.ref(), p.seg());
    }

    int size() {
        return pages.length;
    }

    int available() {
        return available;
    }

    /** Every page, for ending the grants. */
    Page[] all() {
        return pages.clone();
    }

    /** The {@code n} free pages of lowest index, in index order; there must be that many. */
    Page[] take(int n) {
        if (n > available) throw new IllegalStateException(n + " pages wanted, " + available + " free");
        Page[] out = new Page[n];
        int k = 0;
        for (int at = 0; k < n; ) { // a run of free pages at a time
            int start = free.nextSetBit(at);
            int end = Math.min(free.nextClearBit(start), start + n - k);
            free.clear(start, end);
            for (int i = start; i < end; i++) out[k++] = pages[i];
            at = end;
        }
        available -= n;
        return out;
    }

    /** Returns pages {@link #take} handed out. */
    void give(Page[] taken) {
        for (int i = 0; i < taken.length; ) { // a run of consecutive indices at a time
            int start = taken[i].index;
            int j = i + 1;
            while (j < taken.length && taken[j].index == start + (j - i)) j++;
            int end = start + (j - i);
            int set = free.nextSetBit(start);
            if (set >= 0 && set < end) throw new IllegalStateException("page " + set + " freed twice");
            free.set(start, end);
            i = j;
        }
        available += taken.length;
    }

    /**
     * Hands {@code len} bytes of {@code src} (full pages, the last one partly) to {@code reader} without copying
     * them: one read-only view per run of consecutive frames, in order, the first at byte {@code at} of the read.
     */
    void lend(Page[] src, long len, long at, Disk.SectorReader reader) {
        int i = 0;
        while (len > 0) {
            int run = runLength(src, i);
            int n = (int) Math.min((long) run * Blkif.PAGE_SIZE, len);
            reader.accept(at, memory.asSlice(src[i].offset, n).asReadOnly());
            at += n;
            len -= n;
            i += run;
        }
    }

    /** Copies {@code len} bytes from {@code src[0..]} (full pages, the last one partly) into {@code dst[off..]}. */
    void copyOut(Page[] src, long len, byte[] dst, int off) {
        int i = 0;
        while (len > 0) {
            int run = runLength(src, i);
            int n = (int) Math.min((long) run * Blkif.PAGE_SIZE, len);
            MemorySegment.copy(memory, ValueLayout.JAVA_BYTE, src[i].offset, dst, off, n);
            off += n;
            len -= n;
            i += run;
        }
    }

    /** Copies {@code len} bytes from {@code src[off..]} into {@code dst[0..]} (full pages, the last one partly). */
    void copyIn(byte[] src, int off, long len, Page[] dst) {
        int i = 0;
        while (len > 0) {
            int run = runLength(dst, i);
            int n = (int) Math.min((long) run * Blkif.PAGE_SIZE, len);
            MemorySegment.copy(src, off, memory, ValueLayout.JAVA_BYTE, dst[i].offset, n);
            off += n;
            len -= n;
            i += run;
        }
    }

    /** How many pages from {@code ps[i]} on are consecutive in memory (and in the pool). */
    int runLength(Page[] ps, int i) {
        int j = i + 1;
        while (j < ps.length && joinsNext[ps[j - 1].index] && ps[j].index == ps[j - 1].index + 1) j++;
        return j - i;
    }
}
