package org.jxen.hypervisor;

/**
 * XEN_DOMCTL_getdomaininfo, plus the two event channels the toolstack would pass to xenstored and xenconsoled
 * ({@code introduce}'s port): both are unbound ports of the domain offered to dom0.
 *
 * @param shutdownReason null unless {@code state} is SHUTDOWN
 * @param memoryPages tot_pages: the frames the domain holds now, its memory less what its balloon gave back
 * @param vcpus max_vcpus; {@code vcpusUp} those that are up (VCPUOP_up)
 * @param blocked XEN_DOMINF_blocked: the domain runs and its vCPU (the event thread) waits for an event in
 *     FUTEX_WAIT, or is about to; a snapshot, stale as soon as it is read, as in Xen
 */
public record DomainInfo(int domid, DomainState state, ShutdownReason shutdownReason, int memoryPages,
        int vcpus, java.util.BitSet vcpusUp, boolean privileged, int xenstorePort, int consolePort, boolean blocked) {

    public DomainInfo {
        vcpusUp = (java.util.BitSet) vcpusUp.clone();
    }

    /** The vCPUs that are up (a copy): vCPU 0, and those its kernel brought up. */
    @Override
    public java.util.BitSet vcpusUp() {
        return (java.util.BitSet) vcpusUp.clone();
    }

    /** Xen's nr_online_vcpus: xl list's VCPUs. */
    public int onlineVcpus() {
        return vcpusUp.cardinality();
    }

    public boolean crashed() {
        return state == DomainState.SHUTDOWN && shutdownReason == ShutdownReason.CRASH;
    }
}
