package org.jxen.ring;

/**
 * The event-channel side of a xenstore ring: "kick the other end". Both ends signal after producing or
 * consuming, as Xen's barrier protocol requires; who delivers the signal (a hypervisor's event channel, or a
 * test wiring two ends directly) is not this layer's business. Incoming signals reach a ring end through its
 * {@code onNotify()}/{@code notifyFromGuest()} method, called by whoever receives the upcall.
 */
@FunctionalInterface
public interface RingNotifier {
    /** Signals the peer. Must not block for long: it is called on the daemon's event-loop thread. */
    void notifyPeer();
}
