package org.jxen.hypervisor.process;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jxen.hypervisor.ChannelStatus;
import org.jxen.hypervisor.ControlPlane;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantStatus;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.MapReply;
import org.jxen.hypervisor.ShutdownReason;

/** A guest process's control plane: each hypercall is one {@link Rpc} round trip to the host's service. */
final class RemoteControlPlane implements ControlPlane {
    private final SocketChannel socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final DomainLayout layout;
    private final Path runDir;
    /** GNTTABOP_copy goes through the shared hypercall page: the data plane's one control-plane call per batch. */
    private final CopyClient copies;

    private RemoteControlPlane(SocketChannel socket, int domid, String token) throws IOException, HypercallException {
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(socket)));
        this.out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(socket)));
        Rpc.Out req = new Rpc.Out().u8(Rpc.HELLO).i32(domid).str(token);
        DataInputStream r = exchange(req);
        int status = r.readInt();
        if (status != 0) throw new HypercallException(Errno.of(status), "hello refused");
        this.layout = Rpc.layout(r);
        this.runDir = Path.of(Rpc.str(r));
        this.copies = new CopyClient(Path.of(Rpc.str(call(op(Rpc.HYPERCALL_PAGE)))));
        try {
            call(op(Rpc.HYPERCALL_PAGE_MAPPED));
        } catch (HypercallException | RuntimeException e) {
            copies.close();
            throw e;
        }
    }

    static RemoteControlPlane connect(Path socketPath, int domid, String token) throws IOException, HypercallException {
        SocketChannel s = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.connect(UnixDomainSocketAddress.of(socketPath));
            return new RemoteControlPlane(s, domid, token);
        } catch (IOException | HypercallException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    Path runDir() {
        return runDir;
    }

    private synchronized DataInputStream exchange(Rpc.Out req) throws IOException {
        req.sendTo(out);
        return Rpc.readFrame(in);
    }

    /** Sends a request and returns the results, throwing the errno a non-zero status carries. */
    private DataInputStream call(Rpc.Out req) throws HypercallException {
        try {
            DataInputStream r = exchange(req);
            int status = r.readInt();
            if (status > 0) throw new HypercallException(Errno.of(status), "from the hypervisor");
            if (status < 0) throw new HypercallException(Errno.EINVAL, "GNTST " + status);
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException("hypervisor connection lost", e);
        }
    }

    private DataInputStream grantCall(Rpc.Out req) throws GrantException {
        try {
            DataInputStream r = exchange(req);
            int status = r.readInt();
            if (status < 0) throw new GrantException(GrantStatus.of(status), "from the hypervisor");
            if (status > 0) throw new GrantException(GrantStatus.GENERAL_ERROR, Errno.of(status).name());
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException("hypervisor connection lost", e);
        }
    }

    private static Rpc.Out op(int op, int... args) {
        try {
            Rpc.Out o = new Rpc.Out().u8(op);
            for (int a : args) o.i32(a);
            return o;
        } catch (IOException impossible) {
            throw new UncheckedIOException(impossible);
        }
    }

    private int intCall(int op, int... args) throws HypercallException {
        try {
            return call(op(op, args)).readInt();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public DomainLayout layout() {
        return layout;
    }

    @Override
    public int allocUnbound(int dom, int remoteDom) throws HypercallException {
        return intCall(Rpc.ALLOC_UNBOUND, dom, remoteDom);
    }

    @Override
    public int bindInterdomain(int remoteDom, int remotePort) throws HypercallException {
        return intCall(Rpc.BIND_INTERDOMAIN, remoteDom, remotePort);
    }

    @Override
    public int bindVirq(int virq) throws HypercallException {
        return intCall(Rpc.BIND_VIRQ, virq);
    }

    @Override
    public void closePort(int port) throws HypercallException {
        call(op(Rpc.CLOSE_PORT, port));
    }

    @Override
    public ChannelStatus status(int dom, int port) throws HypercallException {
        try {
            return Rpc.status(call(op(Rpc.STATUS, dom, port)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public int initControl(long controlGfn, int offset, int vcpu) throws HypercallException {
        try {
            return call(op(Rpc.INIT_CONTROL).i64(controlGfn).i32(offset).i32(vcpu)).readInt();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void expandArray(long arrayGfn) throws HypercallException {
        try {
            call(op(Rpc.EXPAND_ARRAY).i64(arrayGfn));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void setPriority(int port, int priority) throws HypercallException {
        call(op(Rpc.SET_PRIORITY, port, priority));
    }

    @Override
    public int decreaseReservation(int[] frames) throws HypercallException {
        return intCall(Rpc.DECREASE_RESERVATION, Rpc.counted(frames));
    }

    @Override
    public int populatePhysmap(int[] frames) throws HypercallException {
        return intCall(Rpc.POPULATE_PHYSMAP, Rpc.counted(frames));
    }

    @Override
    public int vcpuOp(int cmd, int vcpu) throws HypercallException {
        return intCall(Rpc.VCPU_OP, cmd, vcpu);
    }

    @Override
    public void resetChannels(int dom) throws HypercallException {
        call(op(Rpc.RESET_CHANNELS, dom));
    }

    @Override
    public MapReply mapGrant(int granter, int ref, boolean readonly) throws GrantException {
        try {
            return Rpc.mapReply(grantCall(op(Rpc.MAP_GRANT, granter, ref).u8(readonly ? 1 : 0)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void unmapGrant(int handle) throws GrantException {
        grantCall(op(Rpc.UNMAP_GRANT, handle));
    }

    @Override
    public void grantCopy(int[] ops, int count, int[] status) throws HypercallException {
        copies.copy(ops, count, status);
    }

    @Override
    public int setGrantFrames(int frames) throws HypercallException {
        return intCall(Rpc.SET_GRANT_FRAMES, frames);
    }

    @Override
    public void shutdownSelf(ShutdownReason reason) throws HypercallException {
        call(op(Rpc.SHUTDOWN_SELF, reason.code));
    }

    @Override
    public int createDomain(int memoryPages, int vcpus) throws HypercallException {
        return intCall(Rpc.CREATE_DOMAIN, memoryPages, vcpus);
    }

    @Override
    public void memoryMapped(long address, boolean tracked) throws HypercallException {
        call(op(Rpc.MEMORY_MAPPED, (int) (address >>> 32), (int) address, tracked ? 1 : 0));
    }

    @Override
    public void resume(int domid, boolean fast) throws HypercallException {
        call(op(Rpc.RESUME, domid, fast ? 1 : 0));
    }

    @Override
    public void unpopulate(int domid, int first, int count) throws HypercallException {
        call(op(Rpc.UNPOPULATE, domid, first, count));
    }

    @Override
    public void setGrantLimits(int domid, int grantFrames, int maptrackFrames) throws HypercallException {
        call(op(Rpc.SET_GNTTAB_LIMITS, domid, grantFrames, maptrackFrames));
    }

    @Override
    public void pause(int domid) throws HypercallException {
        call(op(Rpc.PAUSE, domid));
    }

    @Override
    public void unpause(int domid) throws HypercallException {
        call(op(Rpc.UNPAUSE, domid));
    }

    @Override
    public void shutdown(int domid, ShutdownReason reason) throws HypercallException {
        call(op(Rpc.SHUTDOWN, domid, reason.code));
    }

    @Override
    public void destroy(int domid) throws HypercallException {
        call(op(Rpc.DESTROY, domid));
    }

    @Override
    public DomainInfo info(int domid) throws HypercallException {
        try {
            return Rpc.info(call(op(Rpc.INFO, domid)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public List<DomainInfo> list() throws HypercallException {
        try {
            DataInputStream r = call(op(Rpc.LIST));
            int n = r.readInt();
            List<DomainInfo> all = new ArrayList<>(n);
            for (int i = 0; i < n; i++) all.add(Rpc.info(r));
            return all;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public MapReply mapForeign(int domid, int frame) throws HypercallException {
        try {
            return Rpc.mapReply(call(op(Rpc.MAP_FOREIGN, domid, frame)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        copies.close();
        try {
            socket.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
