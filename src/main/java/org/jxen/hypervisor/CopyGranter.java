package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.function.IntFunction;

/**
 * A granter as one GNTTABOP_copy batch sees it: looked up once when an op names its domid, then reused while
 * ops keep naming it (Xen holds rcu_lock_domain_by_any_id across ops with the same domid). The batch runs
 * under the hypervisor's lock, so a granter found alive stays alive, and its table size fixed, until the batch
 * ends. {@code alive} is false for a domid with no live domain: every grant pointer naming it is bad_domain.
 *
 * @param memory  the granter's whole memory, as the hypervisor maps it
 * @param table   its grant table (grant_entry_v1 array)
 * @param readers its pin counts per ref (all pins), {@code writers} the writable ones
 * @param entries refs in use by its table (GNTTABOP_setup_table size)
 * @param pages   frames of its memory
 * @param logDirty its log-dirty mode, or null: a copy into its pages marks them (paging_mark_dirty)
 * @param released its frames given back to the hypervisor ({@link MemoryOps}), or null when it has none: a grant of
 *                 one is bad_page, as a gfn with no page is in Xen
 */
record CopyGranter(int domid, boolean alive, MemorySegment memory, MemorySegment table, int[] readers,
                   int[] writers, int entries, int pages, LogDirty logDirty, BitSet released) {

    /** {@code cached} if it is {@code domid}'s, else a fresh look-up. */
    static CopyGranter of(CopyGranter cached, int domid, IntFunction<Domain> lookup) {
        if (cached != null && cached.domid == domid) return cached;
        Domain d = lookup.apply(domid);
        if (d == null || !d.alive()) return new CopyGranter(domid, false, null, null, null, null, 0, 0, null, null);
        return new CopyGranter(domid, true, d.memory.segment(), d.grantFile.segment(), d.readers, d.writers,
                d.grantEntries(), d.pages, d.logDirty, d.releasedCount == 0 ? null : d.released);
    }

    /** Pins {@code ref} for {@code mapper}: the granted frame, or a GNTST code with nothing pinned. */
    static int pin(boolean alive, MemorySegment table, int[] readers, int[] writers, int entries, int pages,
                   BitSet released, int ref, int mapper, boolean readonly) {
        if (!alive) return GrantStatus.BAD_DOMAIN.code;
        if (ref < 0 || ref >= entries) return GrantStatus.BAD_GNTREF.code;
        int frame = GrantOps.pinEntry(table, readers, writers, pages, ref, mapper, readonly);
        if (frame >= 0 && released != null && released.get(frame)) {
            GrantOps.unpinEntry(table, readers, writers, ref, readonly);
            return GrantStatus.BAD_PAGE.code;
        }
        return frame;
    }
}
