package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Flyweight over the port table at the end of a domain's event file: one long per port (131072, the FIFO ABI's
 * port space), written only by the hypervisor (guests map it read-only). It lets a guest send without a round
 * trip: the sender looks up its own port's peer here and raises the peer's port itself. One long per entry so
 * readers never see a torn one.
 *
 * <pre>
 * bits 0-3   state (ChannelState code)
 * bits 4-19  remote domid (unbound: the domain it is offered to)
 * bits 20-36 remote port (interdomain) or virq number (virq)
 * bits 37-63 remote domain's serial (low 27 bits): names the peer's event file, so a reused domid is never
 *            mistaken for the domain the port was bound to
 * </pre>
 */
public final class PortTable {
    public static final long OFFSET = EventPage.SIZE + FifoArea.SIZE;
    public static final int PORTS = EventWord.NR_CHANNELS;
    public static final long SIZE = PORTS * 8L;
    public static final int SERIAL_MASK = (1 << 27) - 1;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment table;

    public PortTable(MemorySegment table) {
        this.table = table;
    }

    public long get(int port) {
        return (long) LONG.getVolatile(table, port * 8L);
    }

    void set(int port, long entry) {
        LONG.setVolatile(table, port * 8L, entry);
    }

    public static long encode(ChannelState state, int remoteDom, int remotePort, long remoteSerial) {
        return state.code | ((long) (remoteDom & 0xFFFF) << 4) | ((long) (remotePort & EventWord.LINK_MASK) << 20)
                | ((remoteSerial & SERIAL_MASK) << 37);
    }

    public static ChannelState state(long entry) {
        return ChannelState.of((int) (entry & 0xF));
    }

    public static int remoteDom(long entry) {
        return (int) ((entry >>> 4) & 0xFFFF);
    }

    public static int remotePort(long entry) {
        return (int) ((entry >>> 20) & EventWord.LINK_MASK);
    }

    public static long remoteSerial(long entry) {
        return entry >>> 37;
    }
}
