package org.jxen.hypervisor;

/** How a domain's event thread waits for its pending bits. */
public enum Delivery {
    /** Sleeps on the event page's futex word when nothing is deliverable: no CPU while idle. */
    BLOCKING,
    /** Spins on the pending bitmap: lowest latency, one core burnt (the benchmark's "receiver polling"). */
    POLLING
}
