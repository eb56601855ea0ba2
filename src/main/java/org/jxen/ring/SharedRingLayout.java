package org.jxen.ring;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.List;

/**
 * A flyweight over a shared ring of xen/include/public/io/ring.h (struct NAME_sring): a 64-byte header
 * followed by a power-of-two array of fixed-size entries (the union of the request and the response). Every
 * offset lives here and nowhere else.
 *
 * <p>The ring is either one contiguous segment (one page, or N pages mapped contiguously, N*4096 bytes) or a
 * list of equally sized page segments mapped separately; in the second case entries are addressed across the
 * pages and one may straddle a page boundary (112-byte blkif entries do), which {@link SlotWindow} handles.
 *
 * <p>Header fields are read with acquire and written with release semantics; the full barriers of ring.h are
 * issued by {@link FrontRing} and {@link BackRing}, which own the protocol. Little-endian, as on every Xen
 * platform.
 */
public final class SharedRingLayout {
    public static final int PAGE_SIZE = 4096;
    public static final long REQ_PROD_OFFSET = 0;
    public static final long REQ_EVENT_OFFSET = 4;
    public static final long RSP_PROD_OFFSET = 8;
    public static final long RSP_EVENT_OFFSET = 12;
    /** Start of the private/padding bytes (pvt + __pad), zeroed by SHARED_RING_INIT. */
    public static final long PAD_OFFSET = 16;
    /** offsetof(struct NAME_sring, ring): entries start here. */
    public static final int HEADER_SIZE = 64;

    private static final VarHandle U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MemorySegment header;
    /** The whole ring when contiguous, else null. */
    private final MemorySegment contiguous;
    /** The pages when mapped separately, else null. */
    private final MemorySegment[] pages;
    private final long pageSize;
    private final long ringBytes;
    private final int entrySize;
    private final int size;

    /** A ring over one contiguous segment (one page, or N pages mapped contiguously). */
    public SharedRingLayout(MemorySegment ring, int entrySize) {
        this.ringBytes = ring.byteSize();
        this.size = slots(ringBytes, entrySize);
        checkHeader(ring);
        this.header = ring.asSlice(0, HEADER_SIZE);
        this.contiguous = ring;
        this.pages = null;
        this.pageSize = ringBytes;
        this.entrySize = entrySize;
    }

    /** A ring over separately mapped pages of equal size, in ring order (ring-ref0, ring-ref1, ...). */
    public SharedRingLayout(List<MemorySegment> pages, int entrySize) {
        if (pages.isEmpty()) throw new IllegalArgumentException("a ring needs at least one page");
        this.pageSize = pages.getFirst().byteSize();
        for (MemorySegment p : pages) {
            if (p.byteSize() != pageSize) throw new IllegalArgumentException("ring pages differ in size");
        }
        this.ringBytes = pageSize * pages.size();
        this.size = slots(ringBytes, entrySize);
        checkHeader(pages.getFirst());
        this.header = pages.getFirst().asSlice(0, HEADER_SIZE);
        this.contiguous = pages.size() == 1 ? pages.getFirst() : null;
        this.pages = pages.toArray(MemorySegment[]::new);
        this.entrySize = entrySize;
    }

    private static void checkHeader(MemorySegment first) {
        if (first.byteSize() < HEADER_SIZE) throw new IllegalArgumentException("ring smaller than its header");
        if (first.address() % 4 != 0) throw new IllegalArgumentException("ring is not 4-byte aligned");
    }

    /**
     * __RING_SIZE: the largest power of two {@code n} with {@code n * entrySize <= ringBytes - 64}. For a one
     * page ring of 112-byte blkif entries: 4032 / 112 = 36, rounded down to 32.
     */
    public static int slots(long ringBytes, int entrySize) {
        if (entrySize <= 0) throw new IllegalArgumentException("entry size " + entrySize);
        long fit = (ringBytes - HEADER_SIZE) / entrySize;
        if (fit < 1) throw new IllegalArgumentException(ringBytes + " bytes hold no " + entrySize + "-byte entry");
        // RING_IDX is 32 bits and distances must stay below 2^31 for the unsigned comparisons to mean anything.
        return Integer.highestOneBit((int) Math.min(fit, 1 << 30));
    }

    /** RING_SIZE: the number of entries. */
    public int size() {
        return size;
    }

    public int entrySize() {
        return entrySize;
    }

    public long ringBytes() {
        return ringBytes;
    }

    /** The 64-byte header, for inspection. */
    public MemorySegment header() {
        return header;
    }

    /**
     * SHARED_RING_INIT: producers 0, events 1 (the consumer wants a notification for the very first entry),
     * private and padding bytes zeroed. The entries are left alone, as in Xen.
     */
    public void init() {
        header.asSlice(PAD_OFFSET).fill((byte) 0);
        setRspEvent(1);
        setReqEvent(1);
        setRspProd(0);
        setReqProd(0);
    }

    public int reqProd() {
        return (int) U32.getAcquire(header, REQ_PROD_OFFSET);
    }

    public int reqEvent() {
        return (int) U32.getAcquire(header, REQ_EVENT_OFFSET);
    }

    public int rspProd() {
        return (int) U32.getAcquire(header, RSP_PROD_OFFSET);
    }

    public int rspEvent() {
        return (int) U32.getAcquire(header, RSP_EVENT_OFFSET);
    }

    public void setReqProd(int v) {
        U32.setRelease(header, REQ_PROD_OFFSET, v);
    }

    public void setReqEvent(int v) {
        U32.setRelease(header, REQ_EVENT_OFFSET, v);
    }

    public void setRspProd(int v) {
        U32.setRelease(header, RSP_PROD_OFFSET, v);
    }

    public void setRspEvent(int v) {
        U32.setRelease(header, RSP_EVENT_OFFSET, v);
    }

    /** Byte offset of entry {@code idx} (masked, as RING_GET_REQUEST does) from the start of the ring. */
    public long entryOffset(int idx) {
        return HEADER_SIZE + (long) (idx & (size - 1)) * entrySize;
    }

    /**
     * A direct view of entry {@code idx}, or null if the entry straddles two separately mapped pages (then
     * only copies in and out are possible).
     */
    MemorySegment directEntry(int idx) {
        long off = entryOffset(idx);
        if (contiguous != null) return contiguous.asSlice(off, entrySize);
        long inPage = off % pageSize;
        if (inPage + entrySize > pageSize) return null;
        return pages[(int) (off / pageSize)].asSlice(inPage, entrySize);
    }

    /** Copies the first {@code dst.byteSize()} bytes of entry {@code idx} into {@code dst}, across pages. */
    void copyOut(int idx, MemorySegment dst) {
        long n = checkLength(dst);
        long off = entryOffset(idx);
        if (contiguous != null) {
            MemorySegment.copy(contiguous, off, dst, 0, n);
            return;
        }
        for (long done = 0; done < n; ) {
            long pos = off + done;
            long chunk = Math.min(n - done, pageSize - pos % pageSize);
            MemorySegment.copy(pages[(int) (pos / pageSize)], pos % pageSize, dst, done, chunk);
            done += chunk;
        }
    }

    /** Copies {@code src} into the start of entry {@code idx}, across pages. */
    void copyIn(MemorySegment src, int idx) {
        long n = checkLength(src);
        long off = entryOffset(idx);
        if (contiguous != null) {
            MemorySegment.copy(src, 0, contiguous, off, n);
            return;
        }
        for (long done = 0; done < n; ) {
            long pos = off + done;
            long chunk = Math.min(n - done, pageSize - pos % pageSize);
            MemorySegment.copy(src, done, pages[(int) (pos / pageSize)], pos % pageSize, chunk);
            done += chunk;
        }
    }

    private long checkLength(MemorySegment s) {
        if (s.byteSize() > entrySize) {
            throw new IllegalArgumentException(s.byteSize() + " bytes do not fit a " + entrySize + "-byte entry");
        }
        return s.byteSize();
    }
}
