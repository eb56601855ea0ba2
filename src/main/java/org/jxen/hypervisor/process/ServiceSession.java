package org.jxen.hypervisor.process;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import org.jxen.hypervisor.ControlPlane;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.ShutdownReason;

/**
 * One guest process's connection: authenticates it as a domain, then dispatches its requests to that domain's
 * {@link ControlPlane}, so the caller id comes from the token check, never from the request.
 */
final class ServiceSession implements Runnable {
    private final HypervisorService service;
    private final SocketChannel socket;
    /** Set up by the guest's HYPERCALL_PAGE request; serves its grant copies until the session ends. */
    private CopyServer copyServer;

    ServiceSession(HypervisorService service, SocketChannel socket) {
        this.service = service;
        this.socket = socket;
    }

    @Override
    public void run() {
        int domid = -1;
        try (socket) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(socket)));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(socket)));
            DataInputStream hello = Rpc.readFrame(in);
            if (hello.readUnsignedByte() != Rpc.HELLO) return;
            int claimed = hello.readInt();
            String token = Rpc.str(hello);
            ControlPlane cp;
            try {
                cp = service.authenticate(claimed, token);
            } catch (HypercallException e) {
                new Rpc.Out().i32(e.errno().code).sendTo(out);
                return;
            }
            domid = claimed;
            Rpc.Out ok = new Rpc.Out().i32(0);
            Rpc.layout(ok, cp.layout(), service.hypervisor().runDir().dir());
            ok.sendTo(out);
            while (true) {
                DataInputStream req = Rpc.readFrame(in);
                Rpc.Out reply = new Rpc.Out();
                try {
                    Rpc.Out results = new Rpc.Out();
                    dispatch(cp, req.readUnsignedByte(), req, results);
                    reply.i32(0).append(results);
                } catch (HypercallException e) {
                    reply = new Rpc.Out().i32(e.errno().code);
                } catch (GrantException e) {
                    reply = new Rpc.Out().i32(e.status().code);
                } catch (IllegalArgumentException e) {
                    reply = new Rpc.Out().i32(Errno.EINVAL.code);
                } catch (RuntimeException e) {
                    // E.g. the run directory is full: the guest gets an error, the session survives.
                    System.err.println("hv-service: d" + domid + " request failed: " + e);
                    reply = new Rpc.Out().i32(Errno.ENOMEM.code);
                }
                reply.sendTo(out);
            }
        } catch (IOException eofOrGarbage) {
            // The guest went away or spoke nonsense: either way its session is over.
        } finally {
            if (copyServer != null) copyServer.close();
            if (domid >= 0) service.sessionEnded(domid);
        }
    }

    /** The session's own ops (its hypercall page), then the domain's control plane. */
    private void dispatch(ControlPlane cp, int op, DataInputStream a, Rpc.Out r)
            throws IOException, HypercallException, GrantException {
        switch (op) {
            case Rpc.HYPERCALL_PAGE -> {
                if (copyServer != null) throw new HypercallException(Errno.EEXIST, "hypercall page already set up");
                DomainLayout l = cp.layout();
                try {
                    copyServer = new CopyServer(cp, service.hypervisor().runDir().hypercallPage(l.domid(),
                            l.serial()), "hv-copy-d" + l.domid());
                } catch (IOException e) {
                    // A file problem on the host's side, not the guest's garbage: refuse the call, keep the session.
                    throw new java.io.UncheckedIOException(e);
                }
                r.str(copyServer.file().toString());
            }
            case Rpc.MEMORY_MAPPED -> {
                long address = ((long) a.readInt() << 32) | (a.readInt() & 0xFFFFFFFFL);
                boolean tracked = a.readInt() != 0;
                int domid = cp.layout().domid();
                long pid = service.launchedPid(domid);
                if (pid <= 0) throw new HypercallException(Errno.EPERM, "d" + domid + " was not launched by this host");
                service.hypervisor().memoryMapped(domid, pid, address, tracked);
            }
            case Rpc.HYPERCALL_PAGE_MAPPED -> {
                if (copyServer == null) throw new HypercallException(Errno.EINVAL, "no hypercall page");
                copyServer.unlink();
            }
            case Rpc.ALLOC_UNBOUND -> r.i32(cp.allocUnbound(a.readInt(), a.readInt()));
            case Rpc.BIND_INTERDOMAIN -> r.i32(cp.bindInterdomain(a.readInt(), a.readInt()));
            case Rpc.BIND_VIRQ -> r.i32(cp.bindVirq(a.readInt()));
            case Rpc.CLOSE_PORT -> cp.closePort(a.readInt());
            case Rpc.STATUS -> Rpc.status(r, cp.status(a.readInt(), a.readInt()));
            case Rpc.INIT_CONTROL -> r.i32(cp.initControl(a.readLong(), a.readInt(), a.readInt()));
            case Rpc.EXPAND_ARRAY -> cp.expandArray(a.readLong());
            case Rpc.SET_PRIORITY -> cp.setPriority(a.readInt(), a.readInt());
            case Rpc.RESET_CHANNELS -> cp.resetChannels(a.readInt());
            case Rpc.DECREASE_RESERVATION -> r.i32(cp.decreaseReservation(Rpc.counted(a, Rpc.MAX_EXTENTS)));
            case Rpc.POPULATE_PHYSMAP -> r.i32(cp.populatePhysmap(Rpc.counted(a, Rpc.MAX_EXTENTS)));
            case Rpc.MAP_GRANT -> Rpc.mapReply(r, cp.mapGrant(a.readInt(), a.readInt(), a.readByte() != 0));
            case Rpc.UNMAP_GRANT -> cp.unmapGrant(a.readInt());
            case Rpc.SET_GRANT_FRAMES -> r.i32(cp.setGrantFrames(a.readInt()));
            case Rpc.SHUTDOWN_SELF -> cp.shutdownSelf(ShutdownReason.of(a.readInt()));
            case Rpc.CREATE_DOMAIN -> r.i32(cp.createDomain(a.readInt(), a.readInt()));
            case Rpc.PAUSE -> cp.pause(a.readInt());
            case Rpc.RESUME -> cp.resume(a.readInt(), a.readInt() != 0);
            case Rpc.SET_GNTTAB_LIMITS -> cp.setGrantLimits(a.readInt(), a.readInt(), a.readInt());
            case Rpc.UNPOPULATE -> cp.unpopulate(a.readInt(), a.readInt(), a.readInt());
            case Rpc.VCPU_OP -> r.i32(cp.vcpuOp(a.readInt(), a.readInt()));
            case Rpc.UNPAUSE -> cp.unpause(a.readInt());
            case Rpc.SHUTDOWN -> cp.shutdown(a.readInt(), ShutdownReason.of(a.readInt()));
            case Rpc.DESTROY -> cp.destroy(a.readInt());
            case Rpc.INFO -> Rpc.info(r, cp.info(a.readInt()));
            case Rpc.LIST -> {
                var all = cp.list();
                r.i32(all.size());
                for (DomainInfo i : all) Rpc.info(r, i);
            }
            case Rpc.MAP_FOREIGN -> Rpc.mapReply(r, cp.mapForeign(a.readInt(), a.readInt()));
            default -> throw new HypercallException(Errno.ENOSYS, "op " + op);
        }
    }
}
