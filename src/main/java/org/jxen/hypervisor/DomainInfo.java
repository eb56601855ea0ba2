package org.jxen.hypervisor;

/**
 * XEN_DOMCTL_getdomaininfo, plus the two event channels the toolstack would pass to xenstored and xenconsoled
 * ({@code introduce}'s port): both are unbound ports of the domain offered to dom0.
 *
 * @param shutdownReason null unless {@code state} is SHUTDOWN
 * @param memoryPages tot_pages: the frames the domain holds now, its memory less what its balloon gave back
 * @param blocked XEN_DOMINF_blocked: the domain runs and its vCPU (the event thread) waits for an event in
 *     FUTEX_WAIT, or is about to; a snapshot, stale as soon as it is read, as in Xen
 */
public record DomainInfo(int domid, DomainState state, ShutdownReason shutdownReason, int memoryPages,
        int vcpus, boolean privileged, int xenstorePort, int consolePort, boolean blocked) {

    public boolean crashed() {
        return state == DomainState.SHUTDOWN && shutdownReason == ShutdownReason.CRASH;
    }
}
