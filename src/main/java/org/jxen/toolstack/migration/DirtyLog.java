package org.jxen.toolstack.migration;

import java.io.IOException;
import java.util.BitSet;
import org.jxen.toolstack.Host;

/** Placeholder, replaced below. */
interface DirtyLog extends AutoCloseable {
    BitSet dirty() throws IOException;

    @Override
    void close();

    static DirtyLog enable(Host host, int domid) throws IOException {
        throw new IOException("log-dirty mode is not available");
    }
}
