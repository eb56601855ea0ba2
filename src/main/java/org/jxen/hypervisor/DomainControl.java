package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * XEN_DOMCTL_* and the toolstack's privileged helpers. Every call is checked by the hypervisor: a domain other
 * than dom0 gets EPERM.
 */
public interface DomainControl {
    /** Creates a paused domain, as XEN_DOMCTL_createdomain does; {@link #unpause} starts it. */
    int createDomain(int memoryPages, int vcpus) throws HypercallException;

    void pause(int domid) throws HypercallException;

    void unpause(int domid) throws HypercallException;

    void shutdown(int domid, ShutdownReason reason) throws HypercallException;

    /**
     * XEN_DOMCTL_resumedomain (xc_domain_resume): a domain shut down for suspend runs again; its suspend hypercall
     * returns 1 if {@code fast} (suspend cancelled: drivers keep their connections) or 0 (resumed as in a new
     * domain: drivers reconnect). EINVAL if it is not suspended.
     */
    void resume(int domid, boolean fast) throws HypercallException;

    void destroy(int domid) throws HypercallException;

    /**
     * XEN_DOMCTL_set_gnttab_limits (Xen 4.10's; later folded into createdomain, and xl.cfg's
     * {@code max_grant_frames} / {@code max_maptrack_frames}): how many grant-table frames {@code domid} may grow
     * to (1..{@link GrantTable#MAX_FRAMES}; beyond, its grants fail with ENOSPC) and how many maptrack frames of
     * {@link GrantTable#MAPTRACK_PER_FRAME} handles it may use to map others' grants (beyond: GNTST_no_space).
     * EBUSY if the domain already uses more than the new limits allow.
     */
    void setGrantLimits(int domid, int grantFrames, int maptrackFrames) throws HypercallException;

    /**
     * The domain builder's part of a domain built larger than it starts (xl.cfg's {@code maxmem} above
     * {@code memory}): {@code count} frames from {@code first} of a domain not yet started have no page, as if it
     * had given them back (XENMEM_decrease_reservation by a privileged caller on its behalf); its kernel finds its
     * start_info's {@link DomainLayout#nrPages} and its balloon driver may populate them later. EINVAL for a range
     * outside the domain.
     */
    void unpopulate(int domid, int first, int count) throws HypercallException;

    DomainInfo info(int domid) throws HypercallException;

    List<DomainInfo> list() throws HypercallException;

    /** Allocates an unbound port in {@code domid} offered to {@code remoteDom} (EVTCHNOP_alloc_unbound, dom != self). */
    int allocUnbound(int domid, int remoteDom) throws HypercallException;

    ChannelStatus status(int domid, int port) throws HypercallException;

    /**
     * Maps one frame of another domain without a grant (xc_map_foreign_range, what the domain builder uses). The
     * page stays valid until {@link Hypercalls#close()} of the caller or process exit.
     */
    MemorySegment mapForeign(int domid, int frame) throws HypercallException;
}
