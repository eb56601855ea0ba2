package org.jxen.drivers.blk.front;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.drivers.blk.Vdev;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.kernel.Disks;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusException;
import org.jxen.xenbus.XenbusDriver;
import org.jxen.xenbus.XenbusState;

/**
 * blkfront's state machine (blkback_changed in drivers/block/xen-blkfront.c): on the backend's InitWait (while
 * we are Initialising, or Closed after a disconnect) read its features, set up the rings and go Initialised;
 * on its Connected read the disk's details, go Connected and add the disk to the kernel's block layer; on its
 * Closing/Closed drain and close. When the backend closes a connection that worked and stays {@code online},
 * the frontend restarts at Initialising once it is Closed, the backend answers with InitWait ("prepare for
 * reconnect"), and the requests that were in flight are sent again. Removal takes the disk out of the block
 * layer (del_gendisk).
 */
final class BlkfrontDriver implements XenbusDriver {
    private final BlkFront.Params params;
    private final Disks disks;
    private final Map<XenbusDevice, BlockFront> devices = new ConcurrentHashMap<>();

    BlkfrontDriver(BlkFront.Params params, Disks disks) {
        this.params = params;
        this.disks = disks;
    }

    @Override
    public List<String> ids() {
        return List.of("vbd");
    }

    BlockFront disk(XenbusDevice dev) {
        return devices.get(dev);
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
        Vdev.GuestName name = Vdev.guestName(devid);
        if (name == null) {
            // xlvbd_alloc_gendisk's refusal of a number that is no xvd, hd or sd disk.
            dev.xenbus().printk("blkfront: your disk configuration is incorrect, please use an xvd device instead");
            throw new XenbusException(Errno.ENODEV, "xlvbd_add at " + (dev.otherendPath() != null ? dev.otherendPath() : node) + ": virtual-device " + devid
                    + " is no disk Linux would name");
        }
        for (BlockFront other : devices.values()) {
            if (other.name().equals(name.name())) {
                // xlbd_reserve_minors: hda and sda, say, are both xvda; the second one does not get it.
                throw new XenbusException(Errno.EBUSY, "xlvbd_add at " + (dev.otherendPath() != null ? dev.otherendPath() : node) + ": virtual-device " + devid
                        + " is " + name.name() + ", which device " + other.devid() + " is already");
            }
        }
        devices.put(dev, new BlockFront(dev, name, devid, params));
    }

    /**
     * blkfront_resume: the domain resumed as a new one. The old rings and grants go; what was in flight is kept
     * at the head of the queue. The bus then reads the new backend and watches it; its InitWait sets the rings
     * up again and its Connected sends the kept requests first (blkif_recover).
     */
    @Override
    public void resume(XenbusDevice dev) {
        BlockFront d = devices.get(dev);
        if (d != null) d.resumeInNewDomain();
    }

    /** blkfront_connect's BLKIF_STATE_CONNECTED case: the new capacity, "Setting capacity to N" when it changed. */
    private void resized(XenbusDevice dev, BlockFront d) {
        String raw;
        try {
            raw = dev.xenbus().xenstore().readOrNull(dev.otherendPath() + "/sectors");
        } catch (IOException e) {
            dev.devError(XenbusDevice.errnoOf(e), "reading the backend's sectors: " + e.getMessage());
            return;
        }
        long sectors;
        try {
            sectors = raw == null ? -1 : Long.parseUnsignedLong(raw.strip());
        } catch (NumberFormatException e) {
            sectors = -1;
        }
        if (sectors < 0) {
            dev.devError(Errno.EINVAL, "reading the backend's sectors: " + raw);
            return;
        }
        if (d.resize(sectors)) dev.xenbus().printk("blkfront: " + d.name() + ": Setting capacity to " + sectors);
    }

    @Override
    public void otherendChanged(XenbusDevice dev, XenbusState backend) {
        BlockFront d = devices.get(dev);
        switch (backend) {
            case INIT_WAIT -> {
                if (dev.state() != XenbusState.INITIALISING && dev.state() != XenbusState.CLOSED) return;
                talkToBlkback(dev, d);
            }
            case CONNECTED -> {
                if (dev.state() == XenbusState.CONNECTED) {
                    // blkfront_connect while Connected: blkback rewrote sectors and its state (xen_vbd_resize).
                    resized(dev, d);
                    return;
                }
                if (dev.state() != XenbusState.INITIALISED) return;
                Negotiation.Features features;
                try {
                    features = Negotiation.features(dev, params);
                } catch (IOException e) {
                    dev.devFatal(Errno.EINVAL, "reading backend fields at " + dev.otherendPath() + ": " + e.getMessage());
                    return;
                }
                d.connect(features);
                dev.switchState(XenbusState.CONNECTED);
                disks.add(d);
            }
            case CLOSING, CLOSED -> {
                if (backend == XenbusState.CLOSED && dev.state() == XenbusState.INITIALISING) return;
                // Only a connection that worked is made again. Rings the backend closed before they ever connected
                // were refused (blkback's connect_ring failed, or we could not set up): asking again would be
                // refused again, hundreds of times a second. Then we stay Closed, as Linux blkfront does, and
                // fail what was queued.
                boolean reconnect = Negotiation.backendOnline(dev) && d.connectedSinceSetUp();
                if (dev.state() != XenbusState.CLOSED) {
                    d.disconnect(reconnect);
                    dev.frontendClosed();
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

    private void talkToBlkback(XenbusDevice dev, BlockFront d) {
        try {
            d.setUp(Negotiation.rings(dev, params));
        } catch (XenbusException.DeviceGone e) {
            dev.xenbus().printk("blkfront: " + d.name() + ": " + e.getMessage() + " while connecting");
            return; // the bus removes the device
        } catch (IOException | HypercallException | RuntimeException e) {
            dev.devFatal(XenbusDevice.errnoOf(e), "setting up the rings: "
                    + (e instanceof java.io.UncheckedIOException u && u.getCause() != null ? u.getCause().getMessage() : e.getMessage()));
            d.disconnect(false);
            return;
        }
        dev.switchState(XenbusState.INITIALISED);
    }

    @Override
    public void remove(XenbusDevice dev) {
        BlockFront d = devices.remove(dev);
        if (d == null) return;
        disks.remove(d);
        d.remove();
    }
}
