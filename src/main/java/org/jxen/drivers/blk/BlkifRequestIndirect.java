package org.jxen.drivers.blk;

import static org.jxen.drivers.blk.Blkif.U16;
import static org.jxen.drivers.blk.Blkif.U32;
import static org.jxen.drivers.blk.Blkif.U64;
import static org.jxen.drivers.blk.Blkif.U8;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct blkif_request_indirect (operation = {@link Blkif#OP_INDIRECT}), x86_64 layout:
 *
 * <pre>
 *  0 u8  operation   1 u8 indirect_op (READ/WRITE)   2 u16 nr_segments   4 u32 pad
 *  8 u64 id         16 u64 sector_number             24 u16 handle       26 u16 pad
 * 28 u32 indirect_grefs[8]                            60 u32 pad           -> 64 bytes
 * </pre>
 *
 * Each indirect page holds nr_segments' worth of {@link BlkifSegment} descriptors, 512 per page, in order.
 */
public final class BlkifRequestIndirect {
    public static final int SIZE = 64;
    public static final long OPERATION_OFFSET = 0;
    public static final long INDIRECT_OP_OFFSET = 1;
    public static final long NR_SEGMENTS_OFFSET = 2;
    public static final long PAD1_OFFSET = 4;
    public static final long ID_OFFSET = 8;
    public static final long SECTOR_NUMBER_OFFSET = 16;
    public static final long HANDLE_OFFSET = 24;
    public static final long PAD2_OFFSET = 26;
    public static final long INDIRECT_GREFS_OFFSET = 28;
    public static final long PAD3_OFFSET = 60;

    private MemorySegment s;

    public BlkifRequestIndirect wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public int indirectOp() {
        return Byte.toUnsignedInt(s.get(U8, INDIRECT_OP_OFFSET));
    }

    public int nrSegments() {
        return Short.toUnsignedInt(s.get(U16, NR_SEGMENTS_OFFSET));
    }

    public long id() {
        return s.get(U64, ID_OFFSET);
    }

    public long sectorNumber() {
        return s.get(U64, SECTOR_NUMBER_OFFSET);
    }

    public int handle() {
        return Short.toUnsignedInt(s.get(U16, HANDLE_OFFSET));
    }

    public int indirectGref(int i) {
        return s.get(U32, grefOffset(i));
    }

    /** Indirect pages needed for {@code nrSegments} descriptors. */
    public static int pagesFor(int nrSegments) {
        return (nrSegments + Blkif.SEGMENTS_PER_INDIRECT_PAGE - 1) / Blkif.SEGMENTS_PER_INDIRECT_PAGE;
    }

    public BlkifRequestIndirect set(int indirectOp, int nrSegments, long id, long sectorNumber, int handle) {
        s.set(U8, OPERATION_OFFSET, (byte) Blkif.OP_INDIRECT);
        s.set(U8, INDIRECT_OP_OFFSET, (byte) indirectOp);
        s.set(U16, NR_SEGMENTS_OFFSET, (short) nrSegments);
        s.set(U32, PAD1_OFFSET, 0);
        s.set(U64, ID_OFFSET, id);
        s.set(U64, SECTOR_NUMBER_OFFSET, sectorNumber);
        s.set(U16, HANDLE_OFFSET, (short) handle);
        s.set(U16, PAD2_OFFSET, (short) 0);
        s.set(U32, PAD3_OFFSET, 0);
        return this;
    }

    public BlkifRequestIndirect setIndirectGref(int i, int gref) {
        s.set(U32, grefOffset(i), gref);
        return this;
    }

    private static long grefOffset(int i) {
        if (i < 0 || i >= Blkif.MAX_INDIRECT_PAGES_PER_REQUEST) throw new IndexOutOfBoundsException("gref " + i);
        return INDIRECT_GREFS_OFFSET + 4L * i;
    }
}
