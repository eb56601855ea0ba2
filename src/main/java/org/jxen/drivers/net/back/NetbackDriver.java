package org.jxen.drivers.net.back;

import java.io.IOException;
import org.jxen.drivers.net.NetLink;
import org.jxen.hypervisor.Errno;
import org.jxen.xenbus.BackendDriver;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusException;

/**
 * netback's xenbus side (drivers/net/xen-netback/xenbus.c) on the framework's frontend_changed switch: probe
 * writes the features, reads {@code script} and {@code handle} (each missing is fatal, as in Linux) and creates
 * the interface; the device connects when the frontend is Connected, and its Connected is written only once the
 * hotplug script wrote {@code hotplug-status = connected}. Removal removes the interface.
 */
final class NetbackDriver extends BackendDriver<Vif> {
    private final NetBack.Params params;
    private final NetLink.Factory links;

    NetbackDriver(NetBack.Params params, NetLink.Factory links) {
        super("vif", ConnectOn.FRONTEND_CONNECTED, Hotplug.DEFER_CONNECTED);
        this.params = params;
        this.links = links;
    }

    @Override
    protected Vif create(XenbusDevice dev) throws IOException {
        // netback_probe: the features in one transaction, then the ones outside it.
        dev.transaction(tx -> {
            if (!tx.exists(dev.nodename() + "/state")) return null; // removed: never re-create it
            dev.printf(tx, "feature-sg", "%d", 1);
            dev.printf(tx, "feature-gso-tcpv4", "%d", 1);
            dev.printf(tx, "feature-gso-tcpv6", "%d", 1);
            dev.printf(tx, "feature-ipv6-csum-offload", "%d", 1);
            dev.printf(tx, "feature-rx-copy", "%d", 1);
            dev.printf(tx, "feature-rx-flip", "%d", 0);
            dev.printf(tx, "feature-multicast-control", "%d", 1);
            dev.printf(tx, "feature-dynamic-multicast-control", "%d", 1);
            return null;
        });
        dev.write("feature-split-event-channels", params.separateTxRxIrq() ? "1" : "0");
        dev.write("multi-queue-max-queues", Integer.toString(params.maxQueues()));
        if (dev.readOrNull("script") == null) {
            throw new XenbusException(Errno.ENOENT, "reading script");
        }
        String handle = dev.readOrNull("handle");
        long h = Vif.unsigned(handle, -1);
        if (handle == null || h < 0) throw new XenbusException(Errno.ENOENT, "reading handle");
        String name = "vif" + dev.otherendId() + "." + h;
        try {
            return new Vif(dev, links.open(name, Vif.VIF_MAC), params);
        } catch (IOException e) {
            throw new XenbusException(Errno.EPERM, e.getMessage(), e);
        }
    }

    @Override
    protected void connect(XenbusDevice dev, Vif vif) throws IOException {
        vif.connect();
    }

    @Override
    protected void disconnect(XenbusDevice dev, Vif vif) {
        vif.disconnect();
    }

    @Override
    protected void removed(XenbusDevice dev, Vif vif) {
        vif.close();
    }
}
