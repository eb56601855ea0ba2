package org.jxen.hypervisor;

/**
 * XEN_DOMCTL_getdomaininfo, plus the two event channels the toolstack would pass to xenstored and xenconsoled
 * ({@code introduce}'s port): both are unbound ports of the domain offered to dom0.
 *
 * @param shutdownReason null unless {@code state} is SHUTDOWN
 */
public record DomainInfo(int domid, DomainState state, ShutdownReason shutdownReason, int memoryPages,
        int vcpus, boolean privileged, int xenstorePort, int consolePort) {

    public boolean crashed() {
        return state == DomainState.SHUTDOWN && shutdownReason == ShutdownReason.CRASH;
    }
}
