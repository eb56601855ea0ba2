package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.testing.Await;

/**
 * libxl's add and remove of a vif, by hand (its keys in one transaction; online 0 and Closing to remove), with the
 * hotplug script's report written by the test: for in-process hosts whose vifs are not TAP devices on a bridge.
 */
final class VifHandshake {
    private final XsClient xs;
    private final int domid;
    private final int devid;
    String ip;

    VifHandshake(XsClient xs, int domid, int devid) {
        this.xs = xs;
        this.domid = domid;
        this.devid = devid;
    }

    String fe() {
        return "/local/domain/" + domid + "/device/vif/" + devid;
    }

    String be() {
        return "/local/domain/0/backend/vif/" + domid + "/" + devid;
    }

    private String read(String path) {
        try {
            return xs.readOrNull(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Both ends Connected (the frontend first, the backend once hotplug-status says connected). */
    void attach() throws Exception {
        attachUntilHotplug();
        xs.write(be() + "/hotplug-status", "connected");
        Await.until("backend Connected", () -> "4".equals(read(be() + "/state")), 30);
    }

    /** The keys written; returns when the frontend is Connected and the backend waits for its hotplug script. */
    void attachUntilHotplug() throws Exception {
        String fe = fe();
        String be = be();
        int d = domid;
        xs.transaction(tx -> {
            tx.mkdir(fe);
            tx.setPerms(fe, XsPerms.of(new XsPerm(d, false, false), new XsPerm(0, true, false)));
            tx.mkdir(be);
            tx.setPerms(be, XsPerms.of(new XsPerm(0, false, false), new XsPerm(d, true, false)));
            tx.write(fe + "/backend", be);
            tx.write(fe + "/backend-id", "0");
            tx.write(fe + "/handle", Integer.toString(devid));
            tx.write(fe + "/mac", "00:16:3e:01:02:0" + devid);
            tx.write(fe + "/trusted", "1");
            tx.write(be + "/frontend", fe);
            tx.write(be + "/frontend-id", Integer.toString(d));
            tx.write(be + "/online", "1");
            tx.write(be + "/script", "/etc/xen/scripts/vif-bridge");
            tx.write(be + "/mac", "00:16:3e:01:02:0" + devid);
            tx.write(be + "/bridge", "xenbr0");
            tx.write(be + "/handle", Integer.toString(devid));
            tx.write(be + "/type", "vif");
            if (ip != null) tx.write(be + "/ip", ip);
            tx.write(be + "/hotplug-status", "");
            tx.write(fe + "/state", "1");
            tx.write(be + "/state", "1");
            return null;
        });
        Await.until("frontend Connected", () -> "4".equals(read(fe() + "/state")), 30);
        assertThat(xs.readOrNull(be() + "/state")).isEqualTo("2");
    }

    /** libxl's remove: online 0 and Closing, wait for Closed, both directories go. */
    void detach() throws Exception {
        xs.transaction(tx -> {
            tx.write(be() + "/online", "0");
            tx.write(be() + "/state", "5");
            return null;
        });
        Await.until("backend Closed", () -> "6".equals(read(be() + "/state")), 30);
        xs.rm(fe());
        xs.rm(be());
    }
}
