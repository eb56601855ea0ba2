package org.jxen.drivers.blk;

import static org.jxen.drivers.blk.Blkif.U16;
import static org.jxen.drivers.blk.Blkif.U64;
import static org.jxen.drivers.blk.Blkif.U8;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct blkif_request (read, write, write-barrier, flush) in a ring slot or a private copy:
 *
 * <pre>
 *  0 u8  operation      1 u8 nr_segments   2 u16 handle   4 u32 pad (x86_64 alignment of id)
 *  8 u64 id            16 u64 sector_number
 * 24 seg[11] of blkif_request_segment (8 bytes each)  -> 112 bytes
 * </pre>
 *
 * The operation byte is common to all request variants, so it is read here before choosing one.
 */
public final class BlkifRequest {
    public static final int SIZE = 112;
    public static final long OPERATION_OFFSET = 0;
    public static final long NR_SEGMENTS_OFFSET = 1;
    public static final long HANDLE_OFFSET = 2;
    public static final long PAD_OFFSET = 4;
    public static final long ID_OFFSET = 8;
    public static final long SECTOR_NUMBER_OFFSET = 16;
    public static final long SEG_OFFSET = 24;

    private MemorySegment s;

    public BlkifRequest wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public MemorySegment segment() {
        return s;
    }

    public int operation() {
        return Byte.toUnsignedInt(s.get(U8, OPERATION_OFFSET));
    }

    public int nrSegments() {
        return Byte.toUnsignedInt(s.get(U8, NR_SEGMENTS_OFFSET));
    }

    public int handle() {
        return Short.toUnsignedInt(s.get(U16, HANDLE_OFFSET));
    }

    public long id() {
        return s.get(U64, ID_OFFSET);
    }

    /** Unsigned 64-bit; callers compare with {@link Long#compareUnsigned}. */
    public long sectorNumber() {
        return s.get(U64, SECTOR_NUMBER_OFFSET);
    }

    /** Byte offset of seg[i]. */
    public static long segOffset(int i) {
        return SEG_OFFSET + (long) i * BlkifSegment.SIZE;
    }

    public int gref(int i) {
        return BlkifSegment.gref(s, segOffset(i));
    }

    public int firstSect(int i) {
        return BlkifSegment.firstSect(s, segOffset(i));
    }

    public int lastSect(int i) {
        return BlkifSegment.lastSect(s, segOffset(i));
    }

    /** Writes the header of a read/write/flush request (padding zeroed); segments are set separately. */
    public BlkifRequest set(int operation, int nrSegments, int handle, long id, long sectorNumber) {
        s.set(U8, OPERATION_OFFSET, (byte) operation);
        s.set(U8, NR_SEGMENTS_OFFSET, (byte) nrSegments);
        s.set(U16, HANDLE_OFFSET, (short) handle);
        s.set(Blkif.U32, PAD_OFFSET, 0);
        s.set(U64, ID_OFFSET, id);
        s.set(U64, SECTOR_NUMBER_OFFSET, sectorNumber);
        return this;
    }

    public BlkifRequest setSegment(int i, int gref, int firstSect, int lastSect) {
        if (i < 0 || i >= Blkif.MAX_SEGMENTS_PER_REQUEST) throw new IndexOutOfBoundsException("seg " + i);
        BlkifSegment.set(s, segOffset(i), gref, firstSect, lastSect);
        return this;
    }

    public BlkifRequest setOperation(int operation) {
        s.set(U8, OPERATION_OFFSET, (byte) operation);
        return this;
    }
}
