package org.jxen.cli;

import java.io.IOException;
import org.jxen.xenstore.client.XsClient;

/** A minimal dom0 backend for a device class, through XenStore only: online devices go to InitWait, Closing to Closed. */
final class AutoBackend implements AutoCloseable {
    private final XsClient xs;
    private final String root;

    AutoBackend(XsClient xs, String kind) throws IOException {
        this.xs = xs;
        this.root = "/local/domain/0/backend/" + kind;
        xs.watch(root, "auto-backend", (p, t) -> scan());
    }

    private void scan() {
        try {
            if (!xs.exists(root)) return;
            for (String dom : xs.directory(root)) {
                for (String dev : xs.directory(root + "/" + dom)) {
                    String be = root + "/" + dom + "/" + dev;
                    if (!xs.exists(be + "/state")) continue;
                    String s = xs.readString(be + "/state");
                    if (s.equals("1")) xs.write(be + "/state", "2");
                    if (s.equals("5")) xs.write(be + "/state", "6");
                }
            }
        } catch (IOException e) {
            // Removed while scanning; the next event rescans.
        }
    }

    @Override
    public void close() throws IOException {
        xs.unwatch(root, "auto-backend");
    }
}
