package org.jxen.toolstack.migration;

import java.io.IOException;
import java.util.BitSet;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.toolstack.Host;

/** A domain in log-dirty mode for the length of a pre-copy (libxc's xc_shadow_control ENABLE_LOGDIRTY / CLEAN / OFF). */
final class DirtyLog implements AutoCloseable {
    private final Hypervisor hv;
    private final int domid;

    private DirtyLog(Hypervisor hv, int domid) {
        this.hv = hv;
        this.domid = domid;
    }

    static DirtyLog enable(Host host, int domid) throws IOException {
        try {
            host.hypervisor().enableLogDirty(domid);
        } catch (HypercallException e) {
            throw new IOException("log-dirty mode: " + e.getMessage());
        }
        return new DirtyLog(host.hypervisor(), domid);
    }

    /** The frames written since the last call (or since enabled). */
    BitSet dirty() throws IOException {
        try {
            return hv.cleanDirty(domid);
        } catch (HypercallException e) {
            throw new IOException("log-dirty mode: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        hv.disableLogDirty(domid);
    }
}
