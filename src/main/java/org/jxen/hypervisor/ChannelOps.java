package org.jxen.hypervisor;

import java.util.function.IntFunction;

/**
 * Event-channel state changes, run under the hypervisor's lock. The port table in each domain's event file is
 * the only record of a binding; this class is its only writer.
 */
final class ChannelOps {
    static final int NR_VIRQS = 24;

    private ChannelOps() {
    }

    /**
     * The lowest free port, as Xen's get_free_port; port 0 is never handed out (it is the "no port" value guests
     * test for). The limit is the ABI's: 8192 on 2-level, 131072 on FIFO.
     */
    private static int freePort(Domain d) throws HypercallException {
        int max = d.maxPorts();
        for (int p = Math.max(1, d.freeHint); p < max; p++) {
            if (PortTable.state(d.ports.get(p)) == ChannelState.CLOSED) {
                d.freeHint = p + 1;
                if (p >= d.portsEnd) {
                    d.portsEnd = p + 1;
                    d.fifoArea.setPortsEnd(p + 1);
                }
                return p;
            }
        }
        d.freeHint = max;
        throw new HypercallException(Errno.ENOSPC, "d" + d.id + " has no free port (all " + (max - 1) + " in use)");
    }

    /** A port handed out: nothing pending, not masked, default priority, under either ABI. */
    private static void resetPort(Domain d, int port) {
        if (port < EventPage.MAX_PORTS) d.events.reset(port);
        d.fifo.resetPort(port);
    }

    static int allocUnbound(Domain d, int remoteDom) throws HypercallException {
        int port = freePort(d);
        resetPort(d, port);
        d.ports.set(port, PortTable.encode(ChannelState.UNBOUND, remoteDom, 0, 0));
        return port;
    }

    static int bindInterdomain(Domain local, Domain remote, int rport) throws HypercallException {
        if (rport <= 0 || rport >= remote.maxPorts()) throw new HypercallException(Errno.EINVAL, "port " + rport);
        long r = remote.ports.get(rport);
        if (PortTable.state(r) != ChannelState.UNBOUND || PortTable.remoteDom(r) != local.id) {
            throw new HypercallException(Errno.EINVAL,
                    "d" + remote.id + " port " + rport + " is not unbound for d" + local.id);
        }
        int lport = freePort(local);
        resetPort(local, lport);
        local.ports.set(lport, PortTable.encode(ChannelState.INTERDOMAIN, remote.id, rport, remote.serial));
        remote.ports.set(rport, PortTable.encode(ChannelState.INTERDOMAIN, local.id, lport, local.serial));
        // Xen marks the binder's new port pending at once, so a ring filled before the bind is not missed.
        local.raise(lport);
        return lport;
    }

    static int bindVirq(Domain d, int virq) throws HypercallException {
        if (virq < 0 || virq >= NR_VIRQS) throw new HypercallException(Errno.EINVAL, "virq " + virq);
        if (virq != Hypercalls.VIRQ_DOM_EXC) {
            throw new HypercallException(Errno.EINVAL, "virq " + virq + " is never raised here");
        }
        if (!d.privileged) throw new HypercallException(Errno.EPERM, "VIRQ_DOM_EXC is dom0's");
        if (d.domExcPort != 0) throw new HypercallException(Errno.EEXIST, "virq " + virq + " already bound");
        int port = freePort(d);
        resetPort(d, port);
        d.ports.set(port, PortTable.encode(ChannelState.VIRQ, 0, virq, 0));
        d.domExcPort = port;
        return port;
    }

    static void close(Domain d, int port, IntFunction<Domain> lookup) throws HypercallException {
        if (port <= 0 || port >= d.maxPorts()) throw new HypercallException(Errno.EINVAL, "port " + port);
        long e = d.ports.get(port);
        switch (PortTable.state(e)) {
            case CLOSED -> throw new HypercallException(Errno.EINVAL, "port " + port + " is closed");
            case INTERDOMAIN -> {
                Domain peer = lookup.apply(PortTable.remoteDom(e));
                if (peer != null && (peer.serial & PortTable.SERIAL_MASK) == PortTable.remoteSerial(e)) {
                    // The peer's end goes back to waiting for us, as evtchn_close does.
                    peer.ports.set(PortTable.remotePort(e), PortTable.encode(ChannelState.UNBOUND, d.id, 0, 0));
                }
            }
            case VIRQ -> d.domExcPort = 0;
            default -> {
            }
        }
        d.ports.set(port, 0);
        if (port < EventPage.MAX_PORTS) d.events.reset(port);
        d.fifo.clearPending(port);
        d.freeHint = Math.min(d.freeHint, port);
    }

    static void closeAll(Domain d, IntFunction<Domain> lookup) {
        for (int p = 1; p < d.portsEnd; p++) {
            if (PortTable.state(d.ports.get(p)) == ChannelState.CLOSED) continue;
            try {
                close(d, p, lookup);
            } catch (HypercallException impossible) {
                throw new IllegalStateException(impossible);
            }
        }
    }

    static ChannelStatus status(Domain d, int port) throws HypercallException {
        if (port < 0 || port >= d.maxPorts()) throw new HypercallException(Errno.EINVAL, "port " + port);
        long e = d.ports.get(port);
        ChannelState s = PortTable.state(e);
        return switch (s) {
            case UNBOUND -> new ChannelStatus(s, PortTable.remoteDom(e), -1, -1);
            case INTERDOMAIN -> new ChannelStatus(s, PortTable.remoteDom(e), PortTable.remotePort(e), -1);
            case VIRQ -> new ChannelStatus(s, -1, -1, PortTable.remotePort(e));
            default -> new ChannelStatus(s, -1, -1, -1);
        };
    }
}
