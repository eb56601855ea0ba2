package org.jxen.drivers.blk.back;

import java.io.IOException;
import org.jxen.hypervisor.Errno;
import org.jxen.xenbus.BackendDriver;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusException;

/**
 * blkback's xenbus side (drivers/block/xen-blkback/xenbus.c) on the framework's frontend_changed switch: probe
 * writes the features that do not depend on the disk and goes InitWait; the device connects once the frontend
 * is Initialised or Connected and the hotplug script reported {@code hotplug-status = connected} (and wrote
 * {@code physical-device-path}). Connecting opens the disk, maps the rings, binds the channels, starts one
 * worker per queue and writes the disk's details ({@link BlkbackDevice}); removal closes the disk.
 */
final class BlkbackDriver extends BackendDriver<BlkbackDevice> {
    private final BlkBack.Params params;
    private final BlockDevice.Opener storage;

    BlkbackDriver(BlkBack.Params params, BlockDevice.Opener storage) {
        super("vbd", ConnectOn.FRONTEND_INITIALISED, Hotplug.BEFORE_CONNECT);
        this.params = params;
        this.storage = storage;
    }

    @Override
    protected BlkbackDevice create(XenbusDevice dev) throws IOException {
        dev.transaction(tx -> {
            if (!tx.exists(dev.nodename() + "/state")) return null; // removed: never re-create it
            dev.printf(tx, "feature-max-indirect-segments", "%d", params.maxIndirectSegments());
            dev.printf(tx, "max-ring-page-order", "%d", params.maxRingPageOrder());
            dev.printf(tx, "multi-queue-max-queues", "%d", params.maxQueues());
            dev.printf(tx, "feature-persistent", "%d", params.featurePersistent() ? 1 : 0);
            dev.printf(tx, "feature-flush-cache", "%d", params.featureFlushCache() ? 1 : 0);
            return null;
        });
        return new BlkbackDevice(dev, params, storage);
    }

    @Override
    protected void connect(XenbusDevice dev, BlkbackDevice be) throws IOException {
        be.connect();
    }

    @Override
    protected void disconnect(XenbusDevice dev, BlkbackDevice be) {
        be.disconnect();
    }

    /** The vbd at {@code nodename} re-reads its storage's size (xen_vbd_resize); ENODEV if there is none. */
    long resize(XenbusDevice dev) throws IOException {
        BlkbackDevice be = data(dev);
        if (be == null) throw new XenbusException(Errno.ENODEV, dev.nodename() + " is not a vbd of blkback");
        return be.resize();
    }

    @Override
    protected void removed(XenbusDevice dev, BlkbackDevice be) {
        be.closeDisk();
    }
}
