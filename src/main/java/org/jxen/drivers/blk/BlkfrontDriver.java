package org.jxen.drivers.blk;

import org.jxen.hypervisor.Errno;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusDriver;
import org.jxen.xenbus.XenbusState;

/**
 * blkfront's state machine (blkback_changed in drivers/block/xen-blkfront.c): on the backend's InitWait (while
 * we are Initialising, or Closed after a disconnect) read its features, set up the rings and go Initialised;
 * on its Connected read the disk's details and go Connected; on its Closing/Closed drain and close. When the
 * backend closes a connection that worked and stays {@code online}, the frontend restarts at Initialising once
 * it is Closed, the backend answers with InitWait ("prepare for reconnect"), and the requests that were in
 * flight are sent again.
 */
final class BlkfrontDriver implements XenbusDriver {

    private final BlkFront module;
    private final BlkFront.Params params;
    private final java.util.Map<XenbusDevice, BlockFront> devices = new java.util.concurrent.ConcurrentHashMap<>();

    BlkfrontDriver(BlkFront module, BlkFront.Params params) {
        this.module = module;
        this.params = params;
    }

    @Override
    public List<String> ids() {
        return List.of("vbd");
    }

    @Override
    public void probe(XenbusDevice dev) throws IOException {
        String node = dev.nodename();
        int devid;
        String vd = dev.readOrNull("virtual-device");
        try {
            devid = Integer.parseInt((vd != null ? vd : node.substring(node.lastIndexOf('/') + 1)).strip());
        } catch (NumberFormatException e) {
            dev.devFatal(Errno.EINVAL, "reading virtual-device");
            throw new IOException("bad virtual-device " + vd);
        }
        BlockFront d = new BlockFront(dev, Vdev.name(devid), devid, params);
        devices.put(dev, d);
        module.added(d);
    }

    private BlockFront of(XenbusDevice dev) {
        return devices.get(dev);
    }

    @Override
    public void otherendChanged(XenbusDevice dev, XenbusState backend) {
        BlockFront d = of(dev);
        switch (backend) {
            case INIT_WAIT -> {
                if (dev.state() != XenbusState.INITIALISING && dev.state() != XenbusState.CLOSED) return;
                talkToBlkback(dev, d);
            }
            case CONNECTED -> {
                if (dev.state() != XenbusState.INITIALISED) return; // Connected already: nothing to resize here
                Map<String, String> details;
                try {
                    details = dev.xenbus().xenstore().transaction(tx -> {
                        Map<String, String> m = new java.util.HashMap<>();
                        for (String k : List.of("sectors", "sector-size", "info", "feature-flush-cache",
                                "feature-discard", "feature-max-indirect-segments", "feature-persistent")) {
                            String p = dev.otherendPath() + "/" + k;
                            if (tx.exists(p)) m.put(k, tx.readString(p));
                        }
                        return m;
                    });
                    if (!details.containsKey("sectors")) throw new IOException("no sectors");
                    Long.parseLong(details.get("sectors").strip());
                } catch (IOException | NumberFormatException e) {
                    dev.devFatal(Errno.EINVAL, "reading backend fields at " + dev.otherendPath() + ": " + e.getMessage());
                    return;
                }
                d.connect(details);
                dev.switchState(XenbusState.CONNECTED);
            }
            case CLOSING, CLOSED -> {
                if (backend == XenbusState.CLOSED && dev.state() == XenbusState.INITIALISING) return;
                // Only a connection that worked is made again. Rings the backend closed before they ever connected
                // were refused (blkback's connect_ring failed, or we could not set up): asking again would be
                // refused again, hundreds of times a second. Then we stay Closed, as Linux blkfront does, and
                // fail what was queued.
                boolean reconnect = backendOnline(dev) && d.connectedSinceSetUp();
                if (dev.state() != XenbusState.CLOSED) {
                    d.disconnect(reconnect);
                    dev.switchState(XenbusState.CLOSED);
                }
                if (backend == XenbusState.CLOSED && reconnect) {
                    // The backend stays: start again, it will answer with InitWait.
                    dev.xenbus().printk("blkfront: " + d.name() + ": backend closed but online, reconnecting");
                    dev.switchState(XenbusState.INITIALISING);
                }
            }
            default -> {
                // Initialising, Initialised, Unknown, Reconfiguring/ed: nothing to do.
            }
        }
    }

    private static boolean backendOnline(XenbusDevice dev) {
        try {
            String v = dev.readOtherend("online");
            return v != null && v.strip().equals("1");
        } catch (IOException e) {
            return false;
        }
    }

    private void talkToBlkback(XenbusDevice dev, BlockFront d) {
        int maxQueues = feature(dev, "multi-queue-max-queues", 1);
        int maxOrder = feature(dev, "max-ring-page-order", 0);
        int queues = Math.max(1, Math.min(maxQueues, params.maxQueues()));
        int order = Math.max(0, Math.min(maxOrder, params.maxRingPageOrder()));
        try {
            d.setUp(queues, order);
        } catch (Exception e) {
            dev.devFatal(e instanceof org.jxen.hypervisor.HypercallException h ? h.errno() : Errno.EIO,
                    "setting up the rings: " + e.getMessage());
            d.disconnect(false);
            return;
        }
        dev.switchState(XenbusState.INITIALISED);
    }

    private static int feature(XenbusDevice dev, String key, int dflt) {
        try {
            return Integer.parseInt(dev.readOtherend(key).strip());
        } catch (IOException | NumberFormatException e) {
            return dflt;
        }
    }

    @Override
    public void remove(XenbusDevice dev) {
        BlockFront d = devices.remove(dev);
        if (d == null) return;
        d.remove();
        module.removed(d);
    }
}
