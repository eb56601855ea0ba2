package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Flyweight over the port table in pages 1-16 of a domain's event file: one long per port, written only by the
 * hypervisor (guests map it read-only). It lets a guest send without a round trip: the sender looks up its own
 * port's peer here and sets the peer's pending bit itself. One long per entry so readers never see a torn one.
 *
 * <pre>
 * bits 0-7   state (ChannelState code)
 * bits 8-23  remote domid (unbound: the domain it is offered to)
 * bits 24-39 remote port (interdomain) or virq number (virq)
 * bits 40-63 remote domain's serial (low 24 bits): names the peer's event file, so a reused domid is never
 *            mistaken for the domain the port was bound to
 * </pre>
 */
public final class PortTable {
    public static final long OFFSET = EventPage.SIZE;
    public static final long SIZE = EventPage.MAX_PORTS * 8L;
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
        return state.code | ((long) (remoteDom & 0xFFFF) << 8) | ((long) (remotePort & 0xFFFF) << 24)
                | ((remoteSerial & 0xFFFFFF) << 40);
    }

    public static ChannelState state(long entry) {
        return ChannelState.of((int) (entry & 0xFF));
    }

    public static int remoteDom(long entry) {
        return (int) ((entry >>> 8) & 0xFFFF);
    }

    public static int remotePort(long entry) {
        return (int) ((entry >>> 24) & 0xFFFF);
    }

    public static long remoteSerial(long entry) {
        return entry >>> 40;
    }
}
