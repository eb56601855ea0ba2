package org.jxen.hypervisor;

/**
 * EVTCHNOP_status. For UNBOUND {@code remoteDom} is the domain the port is offered to; for INTERDOMAIN it is
 * the peer and {@code remotePort} its port; for VIRQ {@code virq} is set. Unused fields are -1.
 */
public record ChannelStatus(ChannelState state, int remoteDom, int remotePort, int virq) {
}
