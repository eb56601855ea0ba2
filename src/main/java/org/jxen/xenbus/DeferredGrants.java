package org.jxen.xenbus;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * gnttab_end_foreign_access's deferred list: a grant the other end still maps cannot be ended, and its page
 * must not be reused while it is mapped. Such grants are retried on a timer until the peer unmaps (or its
 * domain dies and the hypervisor drops the mapping); then the page goes back to the allocator.
 */
final class DeferredGrants {
    private static final long RETRY_MS = 50;

    private record Entry(int ref, MemorySegment page) {}

    private final Xenbus xenbus;
    private final List<Entry> pending = new ArrayList<>();
    private ScheduledExecutorService timer;

    DeferredGrants(Xenbus xenbus) {
        this.xenbus = xenbus;
    }

    synchronized void add(int ref, MemorySegment page) {
        xenbus.printk("xenbus: deferring end of grant " + ref + " (still mapped)");
        pending.add(new Entry(ref, page));
        if (timer == null) {
            timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "xenbus-deferred-grants-d" + xenbus.domid());
                t.setDaemon(true);
                return t;
            });
            timer.scheduleWithFixedDelay(this::retry, RETRY_MS, RETRY_MS, TimeUnit.MILLISECONDS);
        }
    }

    private synchronized void retry() {
        pending.removeIf(e -> {
            if (!xenbus.hypercalls().grantTable().endAccess(e.ref())) return false;
            xenbus.resources().grants.decrementAndGet();
            if (e.page() != null) xenbus.freePage(e.page());
            return true;
        });
        if (pending.isEmpty()) {
            timer.shutdown();
            timer = null;
        }
    }
}
