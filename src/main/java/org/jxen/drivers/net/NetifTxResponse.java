package org.jxen.drivers.net;

import static org.jxen.drivers.net.Netif.U16;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct netif_tx_response:
 *
 * <pre>
 *  0 u16 id   2 s16 status (NETIF_RSP_*)   -> 4 bytes, in a 12-byte slot
 * </pre>
 */
public final class NetifTxResponse {
    public static final int SIZE = 4;
    public static final long ID_OFFSET = 0;
    public static final long STATUS_OFFSET = 2;

    private MemorySegment s;

    public NetifTxResponse wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public int id() {
        return Short.toUnsignedInt(s.get(U16, ID_OFFSET));
    }

    public short status() {
        return s.get(U16, STATUS_OFFSET);
    }

    /** Writes the 4 bytes of the response; the rest of the slot keeps the request's bytes, as in Linux. */
    public NetifTxResponse set(int id, short status) {
        s.set(U16, ID_OFFSET, (short) id);
        s.set(U16, STATUS_OFFSET, status);
        return this;
    }
}
