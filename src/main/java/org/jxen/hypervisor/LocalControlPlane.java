package org.jxen.hypervisor;

import java.util.List;

/** A domain living in the hypervisor's process: hypercalls are method calls with the caller's id attached. */
final class LocalControlPlane implements ControlPlane {
    private final Hypervisor hv;
    private final int caller;
    private final DomainLayout layout;

    LocalControlPlane(Hypervisor hv, int caller) throws HypercallException {
        this.hv = hv;
        this.caller = caller;
        this.layout = hv.layout(caller);
    }

    @Override
    public DomainLayout layout() {
        return layout;
    }

    @Override
    public int allocUnbound(int dom, int remoteDom) throws HypercallException {
        return hv.allocUnbound(caller, dom, remoteDom);
    }

    @Override
    public int bindInterdomain(int remoteDom, int remotePort) throws HypercallException {
        return hv.bindInterdomain(caller, remoteDom, remotePort);
    }

    @Override
    public int bindVirq(int virq) throws HypercallException {
        return hv.bindVirq(caller, virq);
    }

    @Override
    public void closePort(int port) throws HypercallException {
        hv.closePort(caller, port);
    }

    @Override
    public ChannelStatus status(int dom, int port) throws HypercallException {
        return hv.status(caller, dom, port);
    }

    @Override
    public int initControl(long controlGfn, int offset, int vcpu) throws HypercallException {
        return hv.initControl(caller, controlGfn, offset, vcpu);
    }

    @Override
    public void expandArray(long arrayGfn) throws HypercallException {
        hv.expandArray(caller, arrayGfn);
    }

    @Override
    public void setPriority(int port, int priority) throws HypercallException {
        hv.setPriority(caller, port, priority);
    }

    @Override
    public int decreaseReservation(int[] frames) throws HypercallException {
        return hv.decreaseReservation(caller, frames);
    }

    @Override
    public int populatePhysmap(int[] frames) throws HypercallException {
        return hv.populatePhysmap(caller, frames);
    }

    @Override
    public int vcpuOp(int cmd, int vcpu) throws HypercallException {
        return hv.vcpuOp(caller, cmd, vcpu);
    }

    @Override
    public void resetChannels(int dom) throws HypercallException {
        hv.resetChannels(caller, dom);
    }

    @Override
    public MapReply mapGrant(int granter, int ref, boolean readonly) throws GrantException {
        return hv.mapGrant(caller, granter, ref, readonly);
    }

    @Override
    public void unmapGrant(int handle) throws GrantException {
        hv.unmapGrant(caller, handle);
    }

    @Override
    public void grantCopy(int[] ops, int count, int[] status) throws HypercallException {
        hv.grantCopy(caller, ops, count, status);
    }

    @Override
    public int setGrantFrames(int frames) throws HypercallException {
        return hv.setGrantFrames(caller, frames);
    }

    @Override
    public void shutdownSelf(ShutdownReason reason) throws HypercallException {
        hv.shutdownSelf(caller, reason);
    }

    @Override
    public int createDomain(int memoryPages, int vcpus) throws HypercallException {
        return hv.createDomain(caller, memoryPages, vcpus);
    }

    @Override
    public void memoryMapped(long address, boolean tracked) throws HypercallException {
        hv.memoryMapped(caller, ProcessHandle.current().pid(), address, tracked);
    }

    /** The caller's kernel mapped its memory here; {@code tracker} starts its write tracking when first needed. */
    void memoryMappedLazily(long address, java.util.function.IntSupplier tracker) throws HypercallException {
        hv.memoryMappedLazily(caller, address, tracker);
    }

    @Override
    public void resume(int domid, boolean fast) throws HypercallException {
        hv.resume(caller, domid, fast);
    }

    @Override
    public void setGrantLimits(int domid, int grantFrames, int maptrackFrames) throws HypercallException {
        hv.setGrantLimits(caller, domid, grantFrames, maptrackFrames);
    }

    @Override
    public void unpopulate(int domid, int first, int count) throws HypercallException {
        hv.unpopulate(caller, domid, first, count);
    }

    @Override
    public void pause(int domid) throws HypercallException {
        hv.pause(caller, domid);
    }

    @Override
    public void unpause(int domid) throws HypercallException {
        hv.unpause(caller, domid);
    }

    @Override
    public void shutdown(int domid, ShutdownReason reason) throws HypercallException {
        hv.shutdown(caller, domid, reason);
    }

    @Override
    public void destroy(int domid) throws HypercallException {
        hv.destroy(caller, domid);
    }

    @Override
    public DomainInfo info(int domid) throws HypercallException {
        return hv.info(caller, domid);
    }

    @Override
    public List<DomainInfo> list() throws HypercallException {
        return hv.list(caller);
    }

    @Override
    public MapReply mapForeign(int domid, int frame) throws HypercallException {
        return hv.mapForeign(caller, domid, frame);
    }

    @Override
    public void close() {
    }
}
