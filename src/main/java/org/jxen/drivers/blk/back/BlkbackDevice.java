package org.jxen.drivers.blk.back;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jxen.drivers.blk.Blkif;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.xenbus.BackRings;
import org.jxen.xenbus.RingKeys;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusException;
import org.jxen.xenbus.XenbusState;

/**
 * One vbd in blkback (struct xen_blkif with its rings): the opened disk and, while Connected, one {@link Queue}
 * per ring. Connecting and disconnecting run on the backend bus's worker; the data path runs on one worker
 * thread per queue (Linux's xen_blkif_schedule kthread): the event handler only wakes it, so dom0's event thread
 * never waits for disk I/O, and a slow or broken device never delays another's events.
 */
final class BlkbackDevice {
    /** blkif: one ring per queue, named by {@code ring-ref}/{@code ring-refN}, one event channel. */
    private static final RingKeys BLKIF = RingKeys.single("");
    private static final long STOP_WAIT_SECONDS = 30;

    private final XenbusDevice dev;
    private final BlkBack.Params params;
    private final BlockDevice.Opener storage;
    private BlockDevice disk;
    /** The frontend's device-type is cdrom (blkback's backend_changed reads it there). */
    private volatile boolean cdrom;
    private BackRings rings;
    private final List<Queue> queues = new ArrayList<>();
    /** The queues by index for the event handlers, which may run before {@link #connect} has made them. */
    private final AtomicReferenceArray<Queue> byIndex;
    private volatile boolean persistent;

    BlkbackDevice(XenbusDevice dev, BlkBack.Params params, BlockDevice.Opener storage) {
        this.dev = dev;
        this.params = params;
        this.storage = storage;
        this.byIndex = new AtomicReferenceArray<>(params.maxQueues());
    }

    /**
     * connect_ring and xen_blkbk_connect: opens the disk, maps the frontend's rings and binds their channels,
     * starts a worker per queue and writes the disk's details. Throws, for the driver to report and close the
     * device, with the errno Linux blkback reports.
     */
    void connect() throws IOException {
        openDisk();
        String protocol = dev.xenbus().xenstore().readOrNull(dev.otherendPath() + "/protocol");
        if (protocol != null && !protocol.strip().equals(Blkif.PROTOCOL_X86_64)) {
            throw new XenbusException(Errno.ENOSYS, "unknown fe protocol " + protocol.strip()); // as Linux
        }
        // feature-persistent: used only when we advertise it and the frontend wrote 1 (xenbus_read_unsigned,
        // anything else is 0).
        String fp = dev.xenbus().xenstore().readOrNull(dev.otherendPath() + "/feature-persistent");
        persistent = params.featurePersistent() && fp != null && fp.strip().equals("1");
        rings = BackRings.map(dev, BLKIF, params.maxQueues(), params.maxRingPageOrder(), (q, channel) -> port -> {
            Queue queue = byIndex.get(q);
            if (queue != null) queue.kick();
        });
        GrantMapper grants = GrantMapper.of(dev.xenbus().hypercalls(), dev.otherendId());
        for (BackRings.Queue r : rings.queues()) {
            PersistentGrants kept = persistent ? new PersistentGrants(grants, params.maxPersistentGrants()) : null;
            Queue q = new Queue(r.index(), r.port(""), kept);
            q.processor = new BlkbackRequestProcessor(r.backRing("", Blkif.ENTRY_SIZE), disk,
                    kept != null ? kept : grants, params.maxIndirectSegments(), q::notifyFrontend);
            queues.add(q);
            byIndex.set(q.index, q);
        }
        try {
            writeDetails();
        } catch (IOException e) {
            throw new XenbusException(Errno.EIO, "writing the disk's details: " + e.getMessage(), e);
        }
        dev.xenbus().printk("blkback " + dev.nodename() + ": connected " + queues.size() + " queue(s), "
                + disk.sectors() + " sectors" + (persistent ? ", persistent grants" : "")
                + (disk.readOnly() ? " (read-only)" : ""));
        for (Queue q : queues) q.kick(); // requests pushed before the channels were bound
    }

    private void openDisk() throws IOException {
        if (disk != null) return;
        try {
            String path = dev.readOrNull("physical-device-path");
            if (path == null) throw new IOException(dev.nodename() + "/physical-device-path missing (hotplug script)");
            String mode = dev.readOrNull("mode");
            boolean readOnly = mode == null || !mode.strip().startsWith("w");
            String type = dev.readOtherend("device-type");
            cdrom = type != null && type.strip().equals("cdrom");
            disk = storage.open(path.strip(), readOnly);
        } catch (IOException e) {
            Errno errno = e instanceof DiskException de && de.errno() != 0 ? Errno.of(de.errno()) : Errno.EIO;
            throw new XenbusException(errno, "opening the disk: " + e.getMessage(), e);
        }
    }

    /**
     * xen_vbd_resize: the storage was resized; if its size changed, write the new {@code sectors} and our current
     * {@code state} again in one transaction, so a Connected frontend re-reads the size online. The new size in
     * sectors; ENODEV before the disk was opened (the device never connected).
     */
    long resize() throws IOException {
        BlockDevice d = disk;
        if (d == null) throw new XenbusException(Errno.ENODEV, dev.nodename() + ": no disk open yet");
        long before = d.sectors();
        long now = d.refreshSectors();
        if (now == before) return now;
        dev.xenbus().printk("VBD Resize: Domid: " + dev.otherendId() + ", Device: " + dev.nodename());
        dev.xenbus().printk("VBD Resize: new size " + now);
        dev.transaction(tx -> {
            if (!tx.exists(dev.nodename() + "/state")) return null; // removed: never re-create it
            dev.printf(tx, "sectors", "%d", now);
            dev.printf(tx, "state", "%d", dev.state().value);
            return null;
        });
        return now;
    }

    void closeDisk() {
        if (disk != null) {
            disk.close();
            disk = null;
        }
    }

    private void writeDetails() throws IOException {
        BlockDevice d = disk;
        dev.transaction(tx -> {
            if (!tx.exists(dev.nodename() + "/state")) return null; // removed: never re-create it
            dev.printf(tx, "sectors", "%d", d.sectors());
            dev.printf(tx, "sector-size", "%d", Blkif.SECTOR_SIZE);
            dev.printf(tx, "physical-sector-size", "%d", Blkif.SECTOR_SIZE);
            // xen_vbd_create's type: a cdrom as the frontend's device-type says (libxl writes it), and read-only.
            dev.printf(tx, "info", "%d", (cdrom ? Blkif.VDISK_CDROM : 0) | (d.readOnly() ? Blkif.VDISK_READONLY : 0));
            dev.printf(tx, "feature-flush-cache", "%d", params.featureFlushCache() ? 1 : 0);
            dev.printf(tx, "feature-barrier", "%d", 0);
            // xen_blkbk_discard: the toolstack's discard-enable = 0 (xl's no-discard) leaves every discard key out.
            if (unsigned(tx.readOrNull(dev.nodename() + "/discard-enable"), 1) != 0) {
                boolean discard = d.discardSupported();
                dev.printf(tx, "feature-discard", "%d", discard ? 1 : 0);
                if (discard) {
                    dev.printf(tx, "discard-granularity", "%d", Blkif.PAGE_SIZE);
                    dev.printf(tx, "discard-alignment", "%d", 0);
                    dev.printf(tx, "discard-secure", "%d", 0);
                }
            }
            return null;
        });
    }

    /** xenbus_read_unsigned's parse: the number, or {@code dflt} if the node is missing or not a number. */
    private static long unsigned(String v, long dflt) {
        if (v == null) return dflt;
        try {
            return Long.parseUnsignedLong(v.strip());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    /**
     * Stops every queue's worker (a request being served finishes first), unmaps its persistent grants, then
     * unbinds the channels and unmaps the rings. Idempotent. The disk stays open across a frontend reconnect;
     * removal closes it.
     */
    void disconnect() {
        for (Queue q : queues) q.stop();
        for (Queue q : queues) {
            if (q.persistentGrants != null) q.persistentGrants.releaseAll();
            byIndex.set(q.index, null);
        }
        queues.clear();
        if (rings != null) rings.close();
        rings = null;
    }

    /**
     * A queue whose ring broke: report it on the device and close the device (this vbd only): its rings go at
     * once, the frontend's close follows.
     */
    private void failed(Queue q, String why) {
        dev.runOnBus(() -> {
            if (!queues.contains(q)) return; // already disconnected
            dev.devError(Errno.EPROTO, "queue " + q.index + ": " + why);
            disconnect();
            dev.switchState(XenbusState.CLOSING);
        });
    }

    /** One ring: its port, processor and worker thread. */
    private final class Queue implements Runnable {
        final int index;
        private final int port;
        final PersistentGrants persistentGrants;
        BlkbackRequestProcessor processor;
        private final ExecutorService worker;
        private final AtomicBoolean scheduled = new AtomicBoolean();
        private volatile boolean stopped;
        private boolean reported;

        Queue(int index, int port, PersistentGrants persistentGrants) {
            this.index = index;
            this.port = port;
            this.persistentGrants = persistentGrants;
            String name = "blkback." + dev.otherendId() + "." + dev.nodename().substring(dev.nodename().lastIndexOf('/') + 1)
                    + "-q" + index;
            this.worker = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
        }

        /** From the event handler (or after connecting): wake the worker, once however many events came. */
        void kick() {
            if (stopped || processor == null) return;
            if (scheduled.compareAndSet(false, true)) {
                try {
                    worker.execute(this);
                } catch (RejectedExecutionException e) {
                    // stopping
                }
            }
        }

        @Override
        public void run() {
            scheduled.set(false);
            if (stopped || reported) return;
            boolean ok;
            try {
                ok = processor.processPending();
            } catch (RuntimeException e) {
                reported = true;
                failed(this, "blkback internal error: " + e);
                return;
            }
            if (!ok) {
                reported = true;
                failed(this, "frontend broke the ring protocol: " + processor.failure().getMessage());
            }
        }

        void notifyFrontend() {
            try {
                dev.notify(port);
            } catch (HypercallException e) {
                dev.xenbus().printk("blkback " + dev.nodename() + ": notify on port " + port + ": " + e.getMessage());
            }
        }

        void stop() {
            stopped = true;
            worker.shutdown();
            try {
                if (!worker.awaitTermination(STOP_WAIT_SECONDS, TimeUnit.SECONDS)) {
                    dev.xenbus().printk("blkback " + dev.nodename() + ": queue " + index + " still busy after "
                            + STOP_WAIT_SECONDS + " s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
