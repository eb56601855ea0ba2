package org.jxen.drivers.blk;

import org.jxen.hypervisor.Errno;
import java.io.IOException;
import java.util.List;
import org.jxen.xenbus.BackendStates;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusDriver;
import org.jxen.xenbus.XenbusState;

/**
 * blkback's xenbus side (drivers/block/xen-blkback/xenbus.c): probe writes the features that do not depend on
 * the disk and goes InitWait; the device connects once three things hold: the frontend is Initialised or
 * Connected, the hotplug script reported {@code hotplug-status = connected} (and wrote
 * {@code physical-device-path}), and we are in InitWait. Connecting opens the image, maps the rings, binds the
 * channels, starts one worker per queue and writes the disk's details, then Connected. The frontend's
 * Closing/Closed and {@code online} drive the close as in netback/blkback's frontend_changed.
 */
public final class BlkbackDriver implements XenbusDriver {
    static final String KEY = "blkback";

    private final BlkBack.Params params;
    private final java.util.Map<XenbusDevice, BlkbackDevice> devices = new java.util.concurrent.ConcurrentHashMap<>();

    BlkbackDriver(BlkBack.Params params) {
        this.params = params;
    }

    @Override
    public List<String> ids() {
        return List.of("vbd");
    }

    @Override
    public void probe(XenbusDevice dev) throws IOException {
        BlkbackDevice be = new BlkbackDevice(dev, params);
        devices.put(dev, be);
        dev.transaction(tx -> {
            if (!tx.exists(dev.nodename() + "/state")) return null; // removed: never re-create it
            dev.printf(tx, "feature-max-indirect-segments", "%d", params.maxIndirectSegments());
            dev.printf(tx, "max-ring-page-order", "%d", params.maxRingPageOrder());
            dev.printf(tx, "multi-queue-max-queues", "%d", params.maxQueues());
            dev.printf(tx, "feature-persistent", "%d", params.featurePersistent() ? 1 : 0);
            dev.printf(tx, "feature-flush-cache", "%d", params.featureFlushCache() ? 1 : 0);
            return null;
        });
        BackendStates states = new BackendStates(dev, be);
        be.states = states;
        states.set(XenbusState.INIT_WAIT);
        // The hotplug script runs after libxl saw InitWait; its last write is hotplug-status.
        dev.watchPath(dev.nodename() + "/hotplug-status", p -> be.maybeConnect());
    }

    BlkbackDevice of(XenbusDevice dev) {
        return devices.get(dev);
    }

    @Override
    public void otherendChanged(XenbusDevice dev, XenbusState frontendState) {
        BlkbackDevice be = of(dev);
        BackendStates states = be.states;
        be.frontendState = frontendState;
        switch (frontendState) {
            case INITIALISING -> {
                if (dev.state() == XenbusState.CLOSED) {
                    dev.xenbus().printk(dev.nodename() + ": prepare for reconnect");
                    states.set(XenbusState.INIT_WAIT);
                }
            }
            case INITIALISED, CONNECTED -> be.maybeConnect();
            case CLOSING -> states.set(XenbusState.CLOSING);
            case CLOSED -> {
                states.set(XenbusState.CLOSED);
                if (!dev.isOnline()) {
                    be.closeDisk();
                    dev.unregister();
                }
            }
            case UNKNOWN -> {
                states.set(XenbusState.CLOSED);
                be.closeDisk();
                dev.unregister();
            }
            default -> dev.devFatal(Errno.EINVAL, "saw state " + frontendState.value + " at frontend");
        }
    }

    @Override
    public void remove(XenbusDevice dev) {
        BlkbackDevice be = devices.remove(dev);
        if (be == null) return;
        if (be.states != null && be.states.state() != XenbusState.CLOSED) {
            try {
                be.states.set(XenbusState.CLOSED);
            } catch (RuntimeException e) {
                dev.xenbus().printk(dev.nodename() + ": closing on remove: " + e.getMessage());
            }
        }
        be.disconnect(dev);
        be.closeDisk();
    }
}
