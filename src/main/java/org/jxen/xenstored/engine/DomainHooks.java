package org.jxen.xenstored.engine;

import org.jxen.xenstore.XenStoreException;

/**
 * What the daemon needs from the platform about guest domains: connecting to a newly introduced domain's
 * ring, and letting go of it. The standalone daemon has no hypervisor and records the introduction only.
 */
public interface DomainHooks {
    DomainHooks NONE = new DomainHooks() {};

    /** INTRODUCE(domid, gfn, port): map the guest's xenstore page and bind its event channel. */
    default void introduced(int domid, long gfn, int port) throws XenStoreException {}

    /** The domain was released or died: unmap and unbind. */
    default void released(int domid) {}
}
