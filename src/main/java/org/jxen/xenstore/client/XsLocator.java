package org.jxen.xenstore.client;

import java.nio.file.Path;
import java.util.Map;

/** Where the daemon's socket is, by libxenstore's rule (xs_daemon_socket in xs_lib.c). */
public final class XsLocator {
    public static final String DEFAULT_RUNDIR = "/var/run/xenstored";

    private XsLocator() {}

    public static Path socketPath() {
        return socketPath(System.getenv());
    }

    /** {@code $XENSTORED_PATH}, else {@code ${XENSTORED_RUNDIR:-/var/run/xenstored}/socket}; set-but-empty counts as set, as with getenv(). */
    public static Path socketPath(Map<String, String> env) {
        String path = env.get("XENSTORED_PATH");
        if (path != null) return Path.of(path);
        String rundir = env.get("XENSTORED_RUNDIR");
        return Path.of((rundir != null ? rundir : DEFAULT_RUNDIR) + "/socket");
    }
}
