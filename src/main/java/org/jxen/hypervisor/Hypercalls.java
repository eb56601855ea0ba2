package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A domain's kernel view of the hypervisor: its own memory and grant table, its event-channel ports, grant
 * mapping and copying, and (for dom0 only) domain control. The same interface whether the domain lives in the
 * hypervisor's process or in its own.
 */
public interface Hypercalls extends AutoCloseable {
    int DOMID_SELF = 0x7FF0;
    int VIRQ_DOM_EXC = 3;

    DomainLayout layout();

    default int domid() {
        return layout().domid();
    }

    /** All of this domain's pages; frame n is at offset n * 4096. */
    MemorySegment memory();

    default MemorySegment frame(int frame) {
        return memory().asSlice((long) frame * GrantEntry.PAGE_SIZE, GrantEntry.PAGE_SIZE);
    }

    /** The granting side: this domain's own grant-table entries. */
    GrantTable grantTable();

    GrantMapping mapGrant(int granter, int ref, boolean readonly) throws GrantException;

    void unmapGrant(int handle) throws GrantException;

    /** Per-op GNTST status codes, in the order of {@code ops}. */
    default int[] grantCopy(List<GrantCopy> ops) throws HypercallException {
        CopyBatch batch = CopyBatch.of(ops);
        grantCopy(batch);
        return batch.statuses();
    }

    /** GNTTABOP_copy of a caller-owned batch: each op's GNTST code lands in {@link CopyBatch#status}. */
    void grantCopy(CopyBatch batch) throws HypercallException;

    int allocUnbound(int remoteDom) throws HypercallException;

    int bindInterdomain(int remoteDom, int remotePort) throws HypercallException;

    int bindVirq(int virq) throws HypercallException;

    void closePort(int port) throws HypercallException;

    /** EVTCHNOP_send: sets the peer's pending bit directly in its event page and wakes it if it sleeps. */
    void send(int port) throws HypercallException;

    ChannelStatus status(int port) throws HypercallException;

    void mask(int port);

    void unmask(int port);

    boolean isPending(int port);

    /**
     * The ports this domain may have under its current event-channel ABI (Linux's xen_evtchn_max_channels): 8192
     * on the 2-level ABI (Xen's is 4096 on a 64-bit guest), 131072 on FIFO.
     */
    int maxChannels();

    /**
     * Switches this domain to the FIFO event-channel ABI as Linux's xen_evtchn_fifo_init does: a control block
     * for vCPU 0 in a page from {@code frames} (EVTCHNOP_init_control), and event-array pages from it for every
     * port the domain has and later gets (EVTCHNOP_expand_array). {@code frames} hands out a free frame of this
     * domain's memory and throws when there is none. Returns link_bits (17). On failure the domain stays on the
     * 2-level ABI, as Linux falls back.
     */
    int useFifo(java.util.function.IntSupplier frames) throws HypercallException;

    /** EVTCHNOP_init_control itself: vCPU {@code vcpu}'s control block at {@code offset} in frame {@code gfn}. */
    int initControl(int controlGfn, int offset, int vcpu) throws HypercallException;

    /** EVTCHNOP_expand_array itself: frame {@code gfn} holds the next 1024 event words. */
    void expandArray(int arrayGfn) throws HypercallException;

    /**
     * XENMEM_decrease_reservation: gives this domain's {@code frames} back to the hypervisor (its balloon driver
     * inflating); answers how many from the first it gave, stopping at a frame outside the domain or already given.
     * A frame given back reads as zeros and is not the domain's to use until populated again.
     */
    int decreaseReservation(int[] frames) throws HypercallException;

    /**
     * XENMEM_populate_physmap: takes frames given back before again (the balloon deflating); answers how many from
     * the first, stopping at one the domain already has or never had.
     */
    int populatePhysmap(int[] frames) throws HypercallException;

    /** HYPERVISOR_vcpu_op's commands jxen has, with Xen's numbers. */
    int VCPUOP_UP = 2, VCPUOP_DOWN = 3, VCPUOP_IS_UP = 4;

    /**
     * HYPERVISOR_vcpu_op on one of this domain's vCPUs: VCPUOP_up and VCPUOP_down bring it online and take it
     * offline (0), VCPUOP_is_up answers 1 or 0. ENOENT for a vCPU the domain does not have (its max_vcpus), which is
     * how a kernel counts them; EINVAL to take vCPU 0 down (jxen runs a domain's code there). An online vCPU other
     * than 0 runs nothing in jxen: it is idle, as a Xen vCPU with nothing scheduled on it.
     */
    int vcpuOp(int cmd, int vcpu) throws HypercallException;

    /** EVTCHNOP_set_priority: 0 (highest) .. 15; 7 is every port's default. FIFO ABI only (ENOSYS on 2-level). */
    void setPriority(int port, int priority) throws HypercallException;

    /** EVTCHNOP_reset(DOMID_SELF): closes every port of this domain and returns it to the 2-level ABI. */
    void resetChannels() throws HypercallException;

    /**
     * Starts this domain's event thread (once) with {@code handler} for every port that has no handler of its own
     * ({@link #onEvent}). Ports that became pending before this call are delivered at once.
     */
    void setEventHandler(EventHandler handler, Delivery delivery);

    /**
     * Routes deliveries on {@code port} to {@code handler} (null removes it), so several drivers of one domain
     * share its event thread; starts the thread with {@link Delivery#BLOCKING} if none runs yet. Deliveries on
     * a port with neither its own nor a default handler are consumed and dropped.
     */
    void onEvent(int port, EventHandler handler);

    /** SCHEDOP_shutdown for this domain. */
    void shutdown(ShutdownReason reason) throws HypercallException;

    /**
     * SCHEDOP_shutdown(SHUTDOWN_suspend) as Linux's xen_suspend makes it: the domain shuts down for suspend (the
     * toolstack sees reason suspend) and this call returns only when the toolstack resumes it: 1 when the suspend
     * was cancelled (checkpoint, failed save or migration: keep every connection), 0 when the domain resumed as a
     * new one (reconnect everything). ESRCH if the domain is destroyed meanwhile (saved, migrated away). Call it
     * on a platform thread: it waits in FUTEX_WAIT, which pins a virtual thread's carrier.
     */
    int suspend() throws HypercallException;

    DomainControl domainControl();

    /**
     * Runs {@code task} on this thread as guest code of this domain outside its event thread (a command of xl
     * exec): meanwhile the domain counts as running, not blocked, in xl list, and the thread's CPU time is the
     * domain's ({@link #cpuNanos}).
     */
    void runOnVcpu(Runnable task);

    /** The CPU time this domain's vCPU threads used in this process, in nanoseconds ({@link VcpuClock}). */
    long cpuNanos();

    /** Stops the event thread and unmaps everything this view mapped (not the grants: unmap those first). */
    @Override
    void close();
}
