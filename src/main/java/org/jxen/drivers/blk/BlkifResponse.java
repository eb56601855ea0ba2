package org.jxen.drivers.blk;

import static org.jxen.drivers.blk.Blkif.U16;
import static org.jxen.drivers.blk.Blkif.U64;
import static org.jxen.drivers.blk.Blkif.U8;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct blkif_response:
 *
 * <pre>
 *  0 u64 id   8 u8 operation   9 u8 pad   10 i16 status   12 u32 pad   -> 16 bytes
 * </pre>
 *
 * For an indirect request the operation echoed is the indirect_op (Linux blkfront rejects anything else).
 */
public final class BlkifResponse {
    public static final int SIZE = 16;
    public static final long ID_OFFSET = 0;
    public static final long OPERATION_OFFSET = 8;
    public static final long STATUS_OFFSET = 10;

    private MemorySegment s;

    public BlkifResponse wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public long id() {
        return s.get(U64, ID_OFFSET);
    }

    public int operation() {
        return Byte.toUnsignedInt(s.get(U8, OPERATION_OFFSET));
    }

    public short status() {
        return s.get(U16, STATUS_OFFSET);
    }

    /** Writes all 16 bytes, padding zeroed, so no stale request bytes leak into the response. */
    public BlkifResponse set(long id, int operation, short status) {
        s.asSlice(0, SIZE).fill((byte) 0);
        s.set(U64, ID_OFFSET, id);
        s.set(U8, OPERATION_OFFSET, (byte) operation);
        s.set(U16, STATUS_OFFSET, status);
        return this;
    }
}
