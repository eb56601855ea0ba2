package org.jxen.xenbus;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one kernel's xenbus devices hold through their helpers: grant refs they handed out, event-channel
 * ports they own, grant mappings of the other end's pages and pages from the frame allocator. Counted so that
 * tests and the "leaked" warning at device removal can tell that a teardown gave everything back.
 */
public final class XenbusResources {
    final AtomicInteger grants = new AtomicInteger();
    final AtomicInteger ports = new AtomicInteger();
    final AtomicInteger mappings = new AtomicInteger();
    final AtomicInteger pages = new AtomicInteger();

    /** A point-in-time copy. */
    public record Snapshot(int grants, int ports, int mappings, int pages) {
        public boolean isEmpty() {
            return grants == 0 && ports == 0 && mappings == 0 && pages == 0;
        }
    }

    public Snapshot snapshot() {
        return new Snapshot(grants.get(), ports.get(), mappings.get(), pages.get());
    }
}
