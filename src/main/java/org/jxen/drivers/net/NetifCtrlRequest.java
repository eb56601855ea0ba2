package org.jxen.drivers.net;

import static org.jxen.drivers.net.Netif.U16;
import static org.jxen.drivers.net.Netif.U32;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct xen_netif_ctrl_request:
 *
 * <pre>
 *  0 u16 id   2 u16 type   4 u32 data[3]   -> 16 bytes
 * </pre>
 */
public final class NetifCtrlRequest {
    public static final int SIZE = 16;
    public static final long ID_OFFSET = 0;
    public static final long TYPE_OFFSET = 2;
    public static final long DATA_OFFSET = 4;

    private MemorySegment s;

    public NetifCtrlRequest wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public int id() {
        return Short.toUnsignedInt(s.get(U16, ID_OFFSET));
    }

    public int type() {
        return Short.toUnsignedInt(s.get(U16, TYPE_OFFSET));
    }

    public int data(int i) {
        return s.get(U32, DATA_OFFSET + 4L * java.util.Objects.checkIndex(i, 3));
    }

    public NetifCtrlRequest set(int id, int type, int d0, int d1, int d2) {
        s.set(U16, ID_OFFSET, (short) id);
        s.set(U16, TYPE_OFFSET, (short) type);
        s.set(U32, DATA_OFFSET, d0);
        s.set(U32, DATA_OFFSET + 4, d1);
        s.set(U32, DATA_OFFSET + 8, d2);
        return this;
    }
}
