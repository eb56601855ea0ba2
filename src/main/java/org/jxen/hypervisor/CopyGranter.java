package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.function.IntFunction;

/**
 * A granter as one GNTTABOP_copy batch sees it: looked up once when an op names its domid, then reused while
 * ops keep naming it (Xen holds rcu_lock_domain_by_any_id across ops with the same domid). The batch runs
 * under the hypervisor's lock, so a granter found alive stays alive, and its table size fixed, until the batch
 * ends. Holds the parts the per-op pin needs one load away: right after a 4 KiB copy, whose stores are still
 * draining, a chain of dependent loads through Domain and SharedFile to the table costs a few ns per op.
 */
final class CopyGranter {
    final int domid;
    /** False for a domid with no live domain: every grant pointer naming it fails with bad_domain. */
    final boolean alive;
    final MemorySegment memory;
    private final MemorySegment table;
    private final int[] readers;
    private final int[] writers;
    private final int entries;
    private final int pages;

    private CopyGranter(int domid, Domain d) {
        this.domid = domid;
        this.alive = d != null && d.alive();
        this.memory = alive ? d.memory.segment() : null;
        this.table = alive ? d.grantFile.segment() : null;
        this.readers = alive ? d.readers : null;
        this.writers = alive ? d.writers : null;
        this.entries = alive ? d.grantEntries() : 0;
        this.pages = alive ? d.pages : 0;
    }

    /** {@code cached} if it is {@code domid}'s, else a fresh look-up. */
    static CopyGranter of(CopyGranter cached, int domid, IntFunction<Domain> lookup) {
        return cached != null && cached.domid == domid ? cached : new CopyGranter(domid, lookup.apply(domid));
    }

    /** Pins {@code ref} for {@code mapper}: the granted frame, or a GNTST code with nothing pinned. */
    int pin(int ref, int mapper, boolean readonly) {
        if (!alive) return GrantStatus.BAD_DOMAIN.code;
        if (ref < 0 || ref >= entries) return GrantStatus.BAD_GNTREF.code;
        return GrantOps.pinEntry(table, readers, writers, pages, ref, mapper, readonly);
    }

    void unpin(int ref, boolean readonly) {
        GrantOps.unpinEntry(table, readers, writers, ref, readonly);
    }
}
