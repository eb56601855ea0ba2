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
    private final java.util.Map<String, Vif> vifs = new java.util.concurrent.ConcurrentHashMap<>();

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
            for (String f : java.util.List.of("feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6",
                    "feature-ipv6-csum-offload")) {
                if (params.has(f)) dev.printf(tx, f, "%d", 1);
            }
            dev.printf(tx, "feature-rx-copy", "%d", 1);
            dev.printf(tx, "feature-rx-flip", "%d", 0);
            for (String f : java.util.List.of("feature-multicast-control", "feature-dynamic-multicast-control")) {
                if (params.has(f)) dev.printf(tx, f, "%d", 1);
            }
            return null;
        });
        if (params.has("feature-split-event-channels")) {
            dev.write("feature-split-event-channels", params.separateTxRxIrq() ? "1" : "0");
        }
        if (params.has("multi-queue-max-queues")) dev.write("multi-queue-max-queues", Integer.toString(params.maxQueues()));
        if (params.has("feature-ctrl-ring")) dev.write("feature-ctrl-ring", "1");
        if (dev.readOrNull("script") == null) {
            throw new XenbusException(Errno.ENOENT, "reading script");
        }
        String handle = dev.readOrNull("handle");
        long h = Vif.unsigned(handle, -1);
        if (handle == null || h < 0) throw new XenbusException(Errno.ENOENT, "reading handle");
        String name = "vif" + dev.otherendId() + "." + h;
        try {
            Vif vif = new Vif(dev, links.open(name, Vif.VIF_MAC), params);
            vifs.put(name, vif);
            return vif;
        } catch (IOException e) {
            throw new XenbusException(Errno.EPERM, e.getMessage(), e);
        }
    }

    java.util.List<long[]> queueCounters(String name) {
        Vif v = vifs.get(name);
        return v == null ? java.util.List.of() : v.queueCounters();
    }

    String ctrlDump(String name) {
        Vif v = vifs.get(name);
        return v == null ? null : v.ctrlDump();
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
        vifs.remove(vif.name(), vif);
        vif.close();
    }
}
