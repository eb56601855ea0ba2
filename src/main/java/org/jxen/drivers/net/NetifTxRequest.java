package org.jxen.drivers.net;

import static org.jxen.drivers.net.Netif.U16;
import static org.jxen.drivers.net.Netif.U32;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct netif_tx_request:
 *
 * <pre>
 *  0 u32 gref   4 u16 offset   6 u16 flags (NETTXF_*)   8 u16 id   10 u16 size   -> 12 bytes
 * </pre>
 *
 * In the first slot of a packet {@code size} is the whole packet's length; in every later slot, that slot's.
 */
public final class NetifTxRequest {
    public static final int SIZE = 12;
    public static final long GREF_OFFSET = 0;
    public static final long OFFSET_OFFSET = 4;
    public static final long FLAGS_OFFSET = 6;
    public static final long ID_OFFSET = 8;
    public static final long SIZE_OFFSET = 10;

    private MemorySegment s;

    public NetifTxRequest wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public int gref() {
        return s.get(U32, GREF_OFFSET);
    }

    public int offset() {
        return Short.toUnsignedInt(s.get(U16, OFFSET_OFFSET));
    }

    public int flags() {
        return Short.toUnsignedInt(s.get(U16, FLAGS_OFFSET));
    }

    public int id() {
        return Short.toUnsignedInt(s.get(U16, ID_OFFSET));
    }

    public int size() {
        return Short.toUnsignedInt(s.get(U16, SIZE_OFFSET));
    }

    public NetifTxRequest set(int gref, int offset, int flags, int id, int size) {
        s.set(U32, GREF_OFFSET, gref);
        s.set(U16, OFFSET_OFFSET, (short) offset);
        s.set(U16, FLAGS_OFFSET, (short) flags);
        s.set(U16, ID_OFFSET, (short) id);
        s.set(U16, SIZE_OFFSET, (short) size);
        return this;
    }
}
