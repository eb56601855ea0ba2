package org.jxen.drivers.blk;

import static org.jxen.drivers.blk.Blkif.U32;
import static org.jxen.drivers.blk.Blkif.U8;

import java.lang.foreign.MemorySegment;

/**
 * struct blkif_request_segment: {u32 gref; u8 first_sect; u8 last_sect; u16 pad} = 8 bytes (4-byte aligned, so
 * the padding is part of the struct). The same descriptor sits in blkif_request.seg[] and, 512 to a page, in
 * the indirect pages. Static accessors at a byte offset, so neither place needs an object per segment.
 */
public final class BlkifSegment {
    public static final int SIZE = 8;
    public static final long GREF_OFFSET = 0;
    public static final long FIRST_SECT_OFFSET = 4;
    public static final long LAST_SECT_OFFSET = 5;
    public static final long PAD_OFFSET = 6;

    private BlkifSegment() {}

    public static int gref(MemorySegment s, long at) {
        return s.get(U32, at + GREF_OFFSET);
    }

    public static int firstSect(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(U8, at + FIRST_SECT_OFFSET));
    }

    public static int lastSect(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(U8, at + LAST_SECT_OFFSET));
    }

    /** Writes a whole descriptor, padding zeroed. */
    public static void set(MemorySegment s, long at, int gref, int firstSect, int lastSect) {
        s.set(U32, at + GREF_OFFSET, gref);
        s.set(U8, at + FIRST_SECT_OFFSET, (byte) firstSect);
        s.set(U8, at + LAST_SECT_OFFSET, (byte) lastSect);
        s.set(Blkif.U16, at + PAD_OFFSET, (short) 0);
    }

    /** The rule every backend applies: first_sect &lt;= last_sect &lt;= 7, i.e. within one 4 KiB page. */
    public static boolean valid(int firstSect, int lastSect) {
        return firstSect <= lastSect && lastSect < Blkif.SECTORS_PER_PAGE;
    }
}
