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
 *
 * <p>A device's teardown ends all its grants at once (a block device's persistent grants are hundreds): the
 * grants deferred during a teardown ({@link #batch()}, which the frontend's close and a device's removal open)
 * are reported in one line when it ends, instead of one line per grant; grants deferred outside a teardown in
 * one line per burst, once a retry tick finds no new one added since the last.
 */
final class DeferredGrants {
    private static final long RETRY_MS = 50;

    private record Entry(int ref, MemorySegment page) {}

    private final Xenbus xenbus;
    private final List<Entry> pending = new ArrayList<>();
    /** Refs deferred since the last report, and whether one was added since the last tick. */
    private final List<Integer> unreported = new ArrayList<>();
    private boolean addedSinceTick;
    /** Teardowns in progress: while any is, the report waits for the last to end. */
    private int batches;
    private ScheduledExecutorService timer;

    DeferredGrants(Xenbus xenbus) {
        this.xenbus = xenbus;
    }

    synchronized void add(int ref, MemorySegment page) {
        pending.add(new Entry(ref, page));
        unreported.add(ref);
        addedSinceTick = true;
        if (timer == null) {
            timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "xenbus-deferred-grants-d" + xenbus.domid());
                t.setDaemon(true);
                return t;
            });
            timer.scheduleWithFixedDelay(this::retry, RETRY_MS, RETRY_MS, TimeUnit.MILLISECONDS);
        }
    }

    /** A teardown: the grants it defers are reported in one line when the last open batch closes. */
    interface Batch extends AutoCloseable {
        @Override
        void close();
    }

    synchronized Batch batch() {
        batches++;
        return () -> {
            synchronized (DeferredGrants.this) {
                if (--batches == 0) report();
            }
        };
    }

    private synchronized void retry() {
        if (!addedSinceTick && batches == 0) report();
        addedSinceTick = false;
        pending.removeIf(e -> {
            if (!xenbus.hypercalls().grantTable().endAccess(e.ref())) return false;
            xenbus.resources().grants.decrementAndGet();
            if (e.page() != null) xenbus.freePage(e.page());
            return true;
        });
        if (pending.isEmpty()) {
            if (batches == 0) report();
            timer.shutdown();
            timer = null;
        }
    }

    /** One line for the burst: "deferring end of grant 8" or "deferring end of 32 grants (refs 8-39)". */
    private void report() {
        if (unreported.isEmpty()) return;
        int n = unreported.size();
        int lo = unreported.stream().min(Integer::compare).orElseThrow();
        int hi = unreported.stream().max(Integer::compare).orElseThrow();
        xenbus.printk(n == 1 ? "xenbus: deferring end of grant " + lo + " (still mapped)"
                : "xenbus: deferring end of " + n + " grants (refs " + lo + "-" + hi + ", still mapped)");
        unreported.clear();
    }
}
