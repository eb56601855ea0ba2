package org.jxen.drivers.net;

import static org.jxen.drivers.net.Netif.U16;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct netif_rx_response:
 *
 * <pre>
 *  0 u16 id   2 u16 offset   4 u16 flags (NETRXF_*)   6 s16 status   -> 8 bytes
 * </pre>
 *
 * {@code status} is the number of bytes in this slot when positive, a NETIF_RSP_* error when negative. The
 * response goes into the slot of the request it consumed (Linux netfront reads by slot, not by id).
 */
public final class NetifRxResponse {
    public static final int SIZE = 8;
    public static final long ID_OFFSET = 0;
    public static final long OFFSET_OFFSET = 2;
    public static final long FLAGS_OFFSET = 4;
    public static final long STATUS_OFFSET = 6;

    private MemorySegment s;

    public NetifRxResponse wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public int id() {
        return Short.toUnsignedInt(s.get(U16, ID_OFFSET));
    }

    public int offset() {
        return Short.toUnsignedInt(s.get(U16, OFFSET_OFFSET));
    }

    public int flags() {
        return Short.toUnsignedInt(s.get(U16, FLAGS_OFFSET));
    }

    public short status() {
        return s.get(U16, STATUS_OFFSET);
    }

    public NetifRxResponse set(int id, int offset, int flags, short status) {
        s.set(U16, ID_OFFSET, (short) id);
        s.set(U16, OFFSET_OFFSET, (short) offset);
        s.set(U16, FLAGS_OFFSET, (short) flags);
        s.set(U16, STATUS_OFFSET, status);
        return this;
    }
}
