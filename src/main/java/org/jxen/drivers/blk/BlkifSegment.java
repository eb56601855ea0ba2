package org.jxen.drivers.blk;

import static org.jxen.drivers.blk.Blkif.U32;
import static org.jxen.drivers.blk.Blkif.U64;
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

    /**
     * Writes a whole descriptor, padding zeroed, as one little-endian 8-byte store (blkfront writes 256 of them
     * per 1 MiB request; four field stores each cost more, notably in a guest JVM running C1 code only).
     */
    public static void set(MemorySegment s, long at, int gref, int firstSect, int lastSect) {
        s.set(U64, at, word(gref, firstSect, lastSect));
    }

    /** The descriptor as the 8 bytes {@link #set} writes (gref, first_sect, last_sect, zero padding). */
    public static long word(int gref, int firstSect, int lastSect) {
        return (gref & 0xffff_ffffL) | (long) (firstSect & 0xff) << 32 | (long) (lastSect & 0xff) << 40;
    }

    /**
     * Stores {@code n} descriptors built with {@link #word(int, int, int)} at the start of {@code page} (an indirect
     * page) with one bulk copy: 512 separate stores cost ~5% of a cross-process guest's event thread (C1 code).
     */
    public static void setAll(MemorySegment page, long[] words, int n) {
        MemorySegment.copy(words, 0, page, U64, 0, n);
    }

    /**
     * The whole descriptor in one load, for a backend reading shared memory: decode it with {@link #gref(long)},
     * {@link #firstSect(long)} and {@link #lastSect(long)}, so each field comes from the same single fetch.
     */
    public static long word(MemorySegment s, long at) {
        return s.get(U64, at);
    }

    public static int gref(long word) {
        return (int) word;
    }

    public static int firstSect(long word) {
        return (int) (word >>> 32) & 0xff;
    }

    public static int lastSect(long word) {
        return (int) (word >>> 40) & 0xff;
    }

    /** The rule every backend applies: first_sect &lt;= last_sect &lt;= 7, i.e. within one 4 KiB page. */
    public static boolean valid(int firstSect, int lastSect) {
        return firstSect <= lastSect && lastSect < Blkif.SECTORS_PER_PAGE;
    }
}
