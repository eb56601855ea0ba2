package org.jxen.hypervisor;

import java.util.List;

/**
 * The hypercalls that need the hypervisor, from one domain's point of view (the caller is implicit). Implemented
 * by a direct call into {@link Hypervisor} in-process and by an RPC in a guest process, so that {@link
 * DomainHypercalls} behaves identically in both. Transport failures surface as unchecked IO exceptions.
 */
public interface ControlPlane extends AutoCloseable {
    DomainLayout layout();

    int allocUnbound(int dom, int remoteDom) throws HypercallException;

    int bindInterdomain(int remoteDom, int remotePort) throws HypercallException;

    int bindVirq(int virq) throws HypercallException;

    void closePort(int port) throws HypercallException;

    ChannelStatus status(int dom, int port) throws HypercallException;

    /** EVTCHNOP_init_control; returns link_bits (17). */
    int initControl(long controlGfn, int offset, int vcpu) throws HypercallException;

    /** EVTCHNOP_expand_array. */
    void expandArray(long arrayGfn) throws HypercallException;

    /** EVTCHNOP_set_priority. */
    void setPriority(int port, int priority) throws HypercallException;

    /** XENMEM_decrease_reservation of the caller's own {@code frames}: how many it gave back (MemoryOps). */
    int decreaseReservation(int[] frames) throws HypercallException;

    /** XENMEM_populate_physmap of the caller's own {@code frames}: how many it has again (MemoryOps). */
    int populatePhysmap(int[] frames) throws HypercallException;

    /** HYPERVISOR_vcpu_op of the caller's own vCPU {@code vcpu} (Hypercalls.vcpuOp). */
    int vcpuOp(int cmd, int vcpu) throws HypercallException;

    /** EVTCHNOP_reset of {@code dom} (DOMID_SELF, or a domain dom0 has paused). */
    void resetChannels(int dom) throws HypercallException;

    MapReply mapGrant(int granter, int ref, boolean readonly) throws GrantException;

    void unmapGrant(int handle) throws GrantException;

    /** GNTTABOP_copy of {@code count} ops in {@link CopyBatch} form; a GNTST per op into {@code status}. */
    void grantCopy(int[] ops, int count, int[] status) throws HypercallException;

    int setGrantFrames(int frames) throws HypercallException;

    void shutdownSelf(ShutdownReason reason) throws HypercallException;

    int createDomain(int memoryPages, int vcpus) throws HypercallException;

    void pause(int domid) throws HypercallException;

    void unpause(int domid) throws HypercallException;

    void shutdown(int domid, ShutdownReason reason) throws HypercallException;

    /** XEN_DOMCTL_resumedomain: a suspended domain runs again; its suspend returns 1 if {@code fast}, else 0. */
    void resume(int domid, boolean fast) throws HypercallException;

    void destroy(int domid) throws HypercallException;

    /** XEN_DOMCTL_set_gnttab_limits ({@link DomainControl#setGrantLimits}). */
    void setGrantLimits(int domid, int grantFrames, int maptrackFrames) throws HypercallException;

    /** {@link DomainControl#unpopulate}. */
    void unpopulate(int domid, int first, int count) throws HypercallException;

    DomainInfo info(int domid) throws HypercallException;

    List<DomainInfo> list() throws HypercallException;

    MapReply mapForeign(int domid, int frame) throws HypercallException;

    /**
     * This domain's kernel mapped its memory at {@code address} of its process; {@code tracked}: registered for
     * asynchronous write protection, as log-dirty mode needs (LogDirty). Told once, after the mapping.
     */
    default void memoryMapped(long address, boolean tracked) throws HypercallException {}

    @Override
    void close();
}
