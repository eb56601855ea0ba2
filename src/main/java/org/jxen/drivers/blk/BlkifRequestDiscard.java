package org.jxen.drivers.blk;

import static org.jxen.drivers.blk.Blkif.U16;
import static org.jxen.drivers.blk.Blkif.U64;
import static org.jxen.drivers.blk.Blkif.U8;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct blkif_request_discard (operation = {@link Blkif#OP_DISCARD}):
 *
 * <pre>
 *  0 u8  operation   1 u8 flag (BLKIF_DISCARD_SECURE)   2 u16 handle   4 u32 pad
 *  8 u64 id         16 u64 sector_number               24 u64 nr_sectors   -> 32 bytes
 * </pre>
 */
public final class BlkifRequestDiscard {
    public static final int SIZE = 32;
    public static final long OPERATION_OFFSET = 0;
    public static final long FLAG_OFFSET = 1;
    public static final long HANDLE_OFFSET = 2;
    public static final long PAD_OFFSET = 4;
    public static final long ID_OFFSET = 8;
    public static final long SECTOR_NUMBER_OFFSET = 16;
    public static final long NR_SECTORS_OFFSET = 24;

    private MemorySegment s;

    public BlkifRequestDiscard wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public int flag() {
        return Byte.toUnsignedInt(s.get(U8, FLAG_OFFSET));
    }

    public boolean secure() {
        return (flag() & Blkif.DISCARD_SECURE) != 0;
    }

    public int handle() {
        return Short.toUnsignedInt(s.get(U16, HANDLE_OFFSET));
    }

    public long id() {
        return s.get(U64, ID_OFFSET);
    }

    public long sectorNumber() {
        return s.get(U64, SECTOR_NUMBER_OFFSET);
    }

    public long nrSectors() {
        return s.get(U64, NR_SECTORS_OFFSET);
    }

    public BlkifRequestDiscard set(int flag, int handle, long id, long sectorNumber, long nrSectors) {
        s.set(U8, OPERATION_OFFSET, (byte) Blkif.OP_DISCARD);
        s.set(U8, FLAG_OFFSET, (byte) flag);
        s.set(U16, HANDLE_OFFSET, (short) handle);
        s.set(Blkif.U32, PAD_OFFSET, 0);
        s.set(U64, ID_OFFSET, id);
        s.set(U64, SECTOR_NUMBER_OFFSET, sectorNumber);
        s.set(U64, NR_SECTORS_OFFSET, nrSectors);
        return this;
    }
}
