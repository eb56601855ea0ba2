package org.jxen.drivers.blk;

import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.Hypercalls;

/**
 * How blkback reaches the frontend's pages: map a grant ref of the frontend domain, unmap it when the I/O is
 * done. An interface so tests can inject failures and a persistent-grant cache can slot in later.
 */
public interface GrantMapper {
    /** Maps {@code ref}; {@code readonly} for pages the backend only reads (write data, indirect pages). */
    GrantMapping map(int ref, boolean readonly) throws GrantException;

    void unmap(GrantMapping mapping);

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
