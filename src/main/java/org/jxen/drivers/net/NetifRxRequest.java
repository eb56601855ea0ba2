package org.jxen.drivers.net;

import static org.jxen.drivers.net.Netif.U16;
import static org.jxen.drivers.net.Netif.U32;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct netif_rx_request, a buffer the frontend posts for the backend to copy a packet into:
 *
 * <pre>
 *  0 u16 id   2 u16 pad   4 u32 gref   -> 8 bytes
 * </pre>
 */
public final class NetifRxRequest {
    public static final int SIZE = 8;
    public static final long ID_OFFSET = 0;
    public static final long PAD_OFFSET = 2;
    public static final long GREF_OFFSET = 4;

    private MemorySegment s;

    public NetifRxRequest wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public int id() {
        return Short.toUnsignedInt(s.get(U16, ID_OFFSET));
    }

    public int gref() {
        return s.get(U32, GREF_OFFSET);
    }

    /** Writes all 8 bytes, padding zeroed. */
    public NetifRxRequest set(int id, int gref) {
        s.set(U16, ID_OFFSET, (short) id);
        s.set(U16, PAD_OFFSET, (short) 0);
        s.set(U32, GREF_OFFSET, gref);
        return this;
    }
}
