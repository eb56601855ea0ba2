package org.jxen.drivers.blk.back;

import java.util.Arrays;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.GrantTable;

/**
 * Linux blkback's persistent grants (struct persistent_gnt, one cache per ring), used when both ends wrote
 * {@code feature-persistent = 1}: the first time a grant ref is seen it is mapped and kept; every later request
 * naming that ref reuses the mapping, and {@link #unmap} of a kept mapping does nothing. The page stays the
 * frontend's page: the backend reads and writes it in place, so a frontend reusing a ref with new content is
 * seen as it is at the time of the I/O.
 *
 * <p>Kept mappings are always writable (Linux maps persistent grants without GNTMAP_readonly, since the same
 * ref may serve reads and writes); a ref granted read-only fails that map, and a request that only reads the
 * page (disk write, indirect descriptors) then falls back to a read-only map and unmap for that request. At
 * most {@code max} refs are kept (Linux's max_persistent_grants, 1056); beyond that, new refs are mapped and
 * unmapped per request as without the feature (no eviction: jxen's blkfront reuses one pool of at most 1056
 * pages, so the cache never fills with it). {@link #releaseAll} unmaps everything on disconnect.
 *
 * <p>Kept mappings are found by indexing an array with the ref: a grant table never has more than
 * {@link GrantTable#MAX_ENTRIES} refs, and a granter hands them out from the bottom, so the array stays small
 * (8 KiB for a frontend's first 2048 refs). A 1 MiB request looks up 256 refs twice (map, unmap) right after
 * the kernel's copy of the previous request has evicted them from L1; consecutive refs share cache lines here,
 * where a hash table scattered them. A ref outside the table's range is never kept (the map fails anyway).
 *
 * <p>One ring's worker uses it; {@code releaseAll} runs on the bus worker after that worker stopped. The
 * methods are synchronized so a late request can never race the release.
 */
public final class PersistentGrants implements GrantMapper {
    /**
     * Linux's default max_persistent_grants: 1056 = 96 requests of 11 segments (three 32-slot rings' worth of
     * full direct requests), per ring.
     */
    public static final int DEFAULT_MAX = 1056;

    private final GrantMapper real;
    private final int max;
    /** Kept mappings by ref; null where none. Grown on demand, never beyond {@link GrantTable#MAX_ENTRIES}. */
    private GrantMapping[] kept = new GrantMapping[64];
    private int size;
    private long hits;
    private long transientMaps;

    public PersistentGrants(GrantMapper real, int max) {
        if (max < 0) throw new IllegalArgumentException("max " + max);
        this.real = real;
        this.max = max;
    }

    @Override
    public synchronized GrantMapping map(int ref, boolean readonly) throws GrantException {
        GrantMapping m = kept(ref);
        if (m != null) {
            hits++;
            return m;
        }
        if (size >= max || ref < 0 || ref >= GrantTable.MAX_ENTRIES) {
            m = real.map(ref, readonly);
            transientMaps++;
            return m;
        }
        try {
            m = real.map(ref, false);
        } catch (GrantException e) {
            if (!readonly) throw e;
            m = real.map(ref, true); // granted read-only: fine for this request, never kept
            transientMaps++;
            return m;
        }
        if (ref >= kept.length) kept = Arrays.copyOf(kept, Math.min(GrantTable.MAX_ENTRIES, Math.max(ref + 1, 2 * kept.length)));
        kept[ref] = m;
        size++;
        return m;
    }

    private GrantMapping kept(int ref) {
        return ref >= 0 && ref < kept.length ? kept[ref] : null;
    }

    @Override
    public synchronized void unmap(GrantMapping mapping) {
        if (kept(mapping.ref()) == mapping) return; // kept until releaseAll
        real.unmap(mapping);
    }

    /**
     * A whole request's segments under one lock (256 of them for a 1 MiB read); the per-segment calls re-enter
     * the monitor this thread already holds, which costs next to nothing.
     */
    @Override
    public synchronized void mapAll(int[] refs, int n, boolean readonly, GrantMapping[] out) throws GrantException {
        GrantMapper.super.mapAll(refs, n, readonly, out);
    }

    @Override
    public synchronized void unmapAll(GrantMapping[] maps, int n) {
        GrantMapper.super.unmapAll(maps, n);
    }

    /** Unmaps every kept mapping (disconnect); the cache is empty and usable again afterwards. */
    public synchronized void releaseAll() {
        for (GrantMapping m : kept) {
            if (m != null) real.unmap(m);
        }
        Arrays.fill(kept, null);
        size = 0;
    }

    /** Refs currently kept mapped. */
    public synchronized int size() {
        return size;
    }

    /** Maps served from the cache. */
    public synchronized long hits() {
        return hits;
    }

    /** Maps done per request because the cache was full or the ref was read-only. */
    public synchronized long transientMaps() {
        return transientMaps;
    }
}
