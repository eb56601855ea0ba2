package org.jxen.drivers.blk.back;

import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.Hypercalls;

/**
 * How blkback reaches the frontend's pages: map a grant ref of the frontend domain, unmap it when the I/O is
 * done. An interface so tests can inject failures and a persistent-grant cache ({@link PersistentGrants}) can
 * slot in.
 */
public interface GrantMapper {
    /** Maps {@code ref}; {@code readonly} for pages the backend only reads (write data, indirect pages). */
    GrantMapping map(int ref, boolean readonly) throws GrantException;

    void unmap(GrantMapping mapping);

    /**
     * Maps {@code refs[0..n)} into {@code out[0..n)}, all with the same {@code readonly}; if one fails, the ones
     * mapped so far are unmapped (and {@code out} cleared) before the exception is thrown. A request's segments
     * go through here at once, so a cache can serve all of them under one lock.
     */
    default void mapAll(int[] refs, int n, boolean readonly, GrantMapping[] out) throws GrantException {
        int mapped = 0;
        try {
            for (; mapped < n; mapped++) out[mapped] = map(refs[mapped], readonly);
        } catch (GrantException | RuntimeException e) {
            unmapAll(out, mapped);
            throw e;
        }
    }

    /** Unmaps {@code maps[0..n)} and clears those entries. */
    default void unmapAll(GrantMapping[] maps, int n) {
        for (int i = 0; i < n; i++) {
            GrantMapping m = maps[i];
            maps[i] = null;
            unmap(m);
        }
    }

    /** Grants of domain {@code frontend}, mapped with the backend domain's hypercalls. */
    static GrantMapper of(Hypercalls backend, int frontend) {
        return new GrantMapper() {
            @Override
            public GrantMapping map(int ref, boolean readonly) throws GrantException {
                return backend.mapGrant(frontend, ref, readonly);
            }

            @Override
            public void unmap(GrantMapping mapping) {
                try {
                    backend.unmapGrant(mapping.handle());
                } catch (GrantException e) {
                    // Only a handle we never got or already returned fails: a backend bug, not the frontend's.
                    throw new IllegalStateException("unmap of our own mapping failed", e);
                }
            }
        };
    }
}
