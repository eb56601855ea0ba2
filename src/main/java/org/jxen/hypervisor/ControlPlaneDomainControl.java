package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

/** {@link DomainControl} as plain control-plane calls; privilege is the hypervisor's to check, not ours. */
final class ControlPlaneDomainControl implements DomainControl {
    private final ControlPlane control;
    private final Function<MapReply, MemorySegment> mapper;

    ControlPlaneDomainControl(ControlPlane control, Function<MapReply, MemorySegment> mapper) {
        this.control = control;
        this.mapper = mapper;
    }

    @Override
    public int createDomain(int memoryPages, int vcpus) throws HypercallException {
        return control.createDomain(memoryPages, vcpus);
    }

    @Override
    public void resume(int domid, boolean fast) throws HypercallException {
        control.resume(domid, fast);
    }

    @Override
    public void setGrantLimits(int domid, int grantFrames, int maptrackFrames) throws HypercallException {
        control.setGrantLimits(domid, grantFrames, maptrackFrames);
    }

    @Override
    public void unpopulate(int domid, int first, int count) throws HypercallException {
        control.unpopulate(domid, first, count);
    }

    @Override
    public void pause(int domid) throws HypercallException {
        control.pause(domid);
    }

    @Override
    public void unpause(int domid) throws HypercallException {
        control.unpause(domid);
    }

    @Override
    public void shutdown(int domid, ShutdownReason reason) throws HypercallException {
        control.shutdown(domid, reason);
    }

    @Override
    public void destroy(int domid) throws HypercallException {
        control.destroy(domid);
    }

    @Override
    public DomainInfo info(int domid) throws HypercallException {
        return control.info(domid);
    }

    @Override
    public List<DomainInfo> list() throws HypercallException {
        return control.list();
    }

    @Override
    public int allocUnbound(int domid, int remoteDom) throws HypercallException {
        return control.allocUnbound(domid, remoteDom);
    }

    @Override
    public ChannelStatus status(int domid, int port) throws HypercallException {
        return control.status(domid, port);
    }

    @Override
    public MemorySegment mapForeign(int domid, int frame) throws HypercallException {
        return mapper.apply(control.mapForeign(domid, frame));
    }
}
