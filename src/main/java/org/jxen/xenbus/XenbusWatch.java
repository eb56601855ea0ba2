package org.jxen.xenbus;

import java.io.IOException;
import org.jxen.xenstore.client.XsClient;

/** A registered XenStore watch (Linux's {@code struct xenbus_watch}); closing it unregisters it, once. */
public final class XenbusWatch implements AutoCloseable {
    private final XsClient xs;
    private final String path;
    private final String token;
    private boolean closed;

    XenbusWatch(XsClient xs, String path, String token) {
        this.xs = xs;
        this.path = path;
        this.token = token;
    }

    public String path() {
        return path;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            xs.unwatch(path, token);
        } catch (IOException e) {
            // The connection is going away (kernel shutdown): the daemon drops its watches with it.
            System.getLogger("jxen.xenbus").log(System.Logger.Level.DEBUG, "unwatch " + path + ": " + e);
        }
    }
}
