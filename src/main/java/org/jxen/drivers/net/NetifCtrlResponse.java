package org.jxen.drivers.net;

import static org.jxen.drivers.net.Netif.U16;
import static org.jxen.drivers.net.Netif.U32;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct xen_netif_ctrl_response:
 *
 * <pre>
 *  0 u16 id   2 u16 type   4 u32 status   8 u32 data   -> 12 bytes
 * </pre>
 */
public final class NetifCtrlResponse {
    public static final int SIZE = 12;
    public static final long ID_OFFSET = 0;
    public static final long TYPE_OFFSET = 2;
    public static final long STATUS_OFFSET = 4;
    public static final long DATA_OFFSET = 8;

    private MemorySegment s;

    public NetifCtrlResponse wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public int id() {
        return Short.toUnsignedInt(s.get(U16, ID_OFFSET));
    }

    public int type() {
        return Short.toUnsignedInt(s.get(U16, TYPE_OFFSET));
    }

    public int status() {
        return s.get(U32, STATUS_OFFSET);
    }

    public int data() {
        return s.get(U32, DATA_OFFSET);
    }

    public NetifCtrlResponse set(int id, int type, int status, int data) {
        s.set(U16, ID_OFFSET, (short) id);
        s.set(U16, TYPE_OFFSET, (short) type);
        s.set(U32, STATUS_OFFSET, status);
        s.set(U32, DATA_OFFSET, data);
        return this;
    }
}
