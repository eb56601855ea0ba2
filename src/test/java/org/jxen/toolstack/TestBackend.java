package org.jxen.toolstack;

import java.io.IOException;
import org.jxen.xenstore.client.XsClient;

/**
 * A tiny backend "driver" in dom0 for device class {@code kind}, driven only through XenStore: a new online
 * device goes Initialising -> InitWait; Closing goes to Closed, unless {@code closes} is false (a frontend that
 * never lets go).
 */
final class TestBackend implements AutoCloseable {
    private final XsClient xs;
    private final String root;
    private final boolean closes;

    TestBackend(XsClient xs, String kind, boolean closes) throws IOException {
        this.xs = xs;
        this.root = "/local/domain/0/backend/" + kind;
        this.closes = closes;
        xs.watch(root, "test-backend-" + kind, (p, t) -> scan());
    }

    private void scan() {
        try {
            if (!xs.exists(root)) return;
            for (String dom : xs.directory(root)) {
                for (String dev : xs.directory(root + "/" + dom)) step(root + "/" + dom + "/" + dev);
            }
        } catch (IOException e) {
            // A device removed while we looked: the next event rescans.
        }
    }

    private void step(String be) throws IOException {
        if (!xs.exists(be + "/state")) return;
        String state = xs.readString(be + "/state");
        boolean online = xs.exists(be + "/online") && xs.readString(be + "/online").equals("1");
        if (state.equals("1") && online) xs.write(be + "/state", "2");
        if (state.equals("5") && closes) xs.write(be + "/state", "6");
    }

    @Override
    public void close() throws IOException {
        xs.unwatch(root, "test-backend-" + root.substring(root.lastIndexOf('/') + 1));
    }
}
