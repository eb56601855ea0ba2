package org.jxen.hypervisor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/** The event-channel ABI a contract run puts its domains on. */
public enum EventAbi {
    TWO_LEVEL, FIFO;

    /** Puts a freshly connected view on this ABI, with FIFO pages taken from the top of its memory. */
    public Hypercalls apply(Hypercalls hc) throws HypercallException {
        if (this == FIFO) hc.useFifo(topDown(hc));
        return hc;
    }

    /**
     * Free frames from the last one down (tests use the low frames for their grants and copies); frames 0 and 1
     * are the console and xenstore pages.
     */
    public static IntSupplier topDown(Hypercalls hc) {
        AtomicInteger next = new AtomicInteger(hc.layout().memoryPages());
        return () -> {
            int f = next.decrementAndGet();
            if (f < 2) throw new IllegalStateException("out of memory (ENOMEM)");
            return f;
        };
    }
}
