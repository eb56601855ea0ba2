package org.jxen.drivers.blk;

import org.jxen.hypervisor.Errno;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.BackRing;
import org.jxen.ring.SharedRingLayout;
import org.jxen.xenbus.BackendStates;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusState;

/**
 * One vbd in blkback (struct xen_blkif with its rings): the opened image and, while Connected, one
 * {@link Queue} per ring. Callbacks run on the backend bus's worker; the data path runs on one worker thread
 * per queue (Linux's xen_blkif_schedule kthread): the event handler only wakes it, so dom0's event thread never
 * waits for disk I/O, and a slow or broken device never delays another's events.
 */
final class BlkbackDevice implements BackendStates.Hooks {
    static final String PROTOCOL_X86_64 = "x86_64-abi";
    private static final long STOP_WAIT_SECONDS = 30;

    private final XenbusDevice dev;
    private final BlkBack.Params params;
    BackendStates states;
    volatile XenbusState frontendState = XenbusState.UNKNOWN;
    private BlockDevice disk;
    private final List<Queue> queues = new ArrayList<>();
    private volatile boolean persistent;

    BlkbackDevice(XenbusDevice dev, BlkBack.Params params) {
        this.dev = dev;
        this.params = params;
    }

    /** Connect when the frontend has published its rings and the hotplug script has found the image. */
    void maybeConnect() {
        if (states == null || states.state() != XenbusState.INIT_WAIT) return;
        XenbusState fe = dev.readOtherendState();
        if (fe != XenbusState.INITIALISED && fe != XenbusState.CONNECTED) return;
        try {
            if (!"connected".equals(dev.readOrNull("hotplug-status"))) return;
        } catch (IOException e) {
            return;
        }
        states.set(XenbusState.CONNECTED);
    }

    @Override
    public boolean connect(XenbusDevice d) {
        try {
            openDisk();
        } catch (IOException e) {
            int errno = e instanceof DiskException de && de.errno() != 0 ? de.errno() : 5;
            dev.devFatal(Errno.of(errno), "opening the disk: " + e.getMessage());
            return false;
        }
        try {
            connectRings();
        } catch (SetupException e) {
            dev.devFatal(Errno.of(e.errno), e.getMessage());
            disconnect(dev);
            return false;
        }
        try {
            writeDetails();
        } catch (IOException e) {
            dev.devFatal(Errno.EIO, "writing the disk's details: " + e.getMessage());
            disconnect(dev);
            return false;
        }
        dev.xenbus().printk("blkback " + dev.nodename() + ": connected " + queues.size() + " queue(s), "
                + disk.sectors() + " sectors" + (persistent ? ", persistent grants" : "")
                + (disk.readOnly() ? " (read-only)" : ""));
        for (Queue q : queues) q.kick();
        return true;
    }

    private void openDisk() throws IOException {
        if (disk != null) return;
        String path = dev.readOrNull("physical-device-path");
        if (path == null) throw new IOException(dev.nodename() + "/physical-device-path missing (hotplug script)");
        String mode = dev.readOrNull("mode");
        boolean readOnly = mode == null || !mode.strip().startsWith("w");
        disk = openTarget(path.strip(), readOnly);
    }

    void closeDisk() {
        if (disk != null) {
            disk.close();
            disk = null;
        }
    }

    /**
     * The disk behind {@code physical-device-path}: an image file or block device, or (jxen's extension for tests
     * and benchmarks) {@code null:SIZE}, a {@link NullDisk} of SIZE bytes (suffix K, M, G, T: powers of 1024).
     */
    static BlockDevice openTarget(String path, boolean readOnly) throws IOException {
        if (path.startsWith(NullDisk.PREFIX)) {
            try {
                return NullDisk.parse(path);
            } catch (IllegalArgumentException e) {
                throw new IOException(e.getMessage());
            }
        }
        return DiskImage.open(Path.of(path), readOnly);
    }

    /** For tests: the open disk, or null. */
    BlockDevice disk() {
        return disk;
    }

    private static final class SetupException extends Exception {
        final int errno;

        SetupException(int errno, String message) {
            super(message);
            this.errno = errno;
        }
    }

    private void connectRings() throws SetupException {
        String fe = dev.otherendPath();
        String protocol = optional(fe, "protocol");
        if (protocol != null && !protocol.strip().equals(PROTOCOL_X86_64)) {
            throw new SetupException(38, "unknown fe protocol " + protocol.strip()); // ENOSYS, as Linux
        }
        int nq = number(fe, "multi-queue-num-queues", 1);
        if (nq < 1 || nq > params.maxQueues()) {
            throw new SetupException(22, "guest requested " + nq + " queues, exceeding the maximum of "
                    + params.maxQueues());
        }
        int order = number(fe, "ring-page-order", 0);
        if (order < 0 || order > params.maxRingPageOrder()) {
            throw new SetupException(22, fe + "/ring-page-order " + order + " exceeds the maximum "
                    + params.maxRingPageOrder());
        }
        GrantMapper grants = GrantMapper.of(dev.xenbus().hypercalls(), dev.otherendId());
        // feature-persistent: used only when we advertise it and the frontend wrote 1 (xenbus_read_unsigned,
        // anything else is 0).
        String fp = optional(fe, "feature-persistent");
        persistent = params.featurePersistent() && fp != null && fp.strip().equals("1");
        for (int q = 0; q < nq; q++) {
            String dir = nq == 1 ? fe : fe + "/queue-" + q;
            int pages = 1 << order;
            int[] refs = new int[pages];
            if (order == 0 && optional(dir, "ring-ref") != null) {
                refs[0] = number(dir, "ring-ref", -1);
            } else {
                for (int i = 0; i < pages; i++) refs[i] = number(dir, "ring-ref" + i, -1);
            }
            int remotePort = number(dir, "event-channel", -1);
            for (int r : refs) if (r < 0) throw new SetupException(22, "reading " + dir + "/ring-ref");
            if (remotePort < 0) throw new SetupException(22, "reading " + dir + "/event-channel");
            Queue queue = new Queue(q);
            queues.add(queue);
            if (persistent) queue.persistentGrants = new PersistentGrants(grants, params.maxPersistentGrants());
            try {
                queue.mapping = dev.mapRing(refs);
            } catch (GrantException e) {
                throw new SetupException(14, "mapping ring of queue " + q + ": " + e.getMessage());
            }
            List<MemorySegment> segs = queue.mapping.stream().map(GrantMapping::page).toList();
            SharedRingLayout layout = segs.size() == 1 ? new SharedRingLayout(segs.get(0), Blkif.ENTRY_SIZE)
                    : new SharedRingLayout(segs, Blkif.ENTRY_SIZE);
            queue.processor = new BlkbackRequestProcessor(new BackRing(layout), disk,
                    queue.persistentGrants != null ? queue.persistentGrants : grants,
                    params.maxIndirectSegments(), queue::notifyFrontend);
            try {
                queue.port = dev.bindEvtchn(remotePort, p -> queue.kick());
            } catch (HypercallException e) {
                throw new SetupException(e.errno().code, "binding event channel " + remotePort + " of domain "
                        + dev.otherendId());
            }
        }
    }

    private void writeDetails() throws IOException {
        BlockDevice d = disk;
        dev.transaction(tx -> {
            if (!tx.exists(dev.nodename() + "/state")) return null; // removed: never re-create it
            dev.printf(tx, "sectors", "%d", d.sectors());
            dev.printf(tx, "sector-size", "%d", Blkif.SECTOR_SIZE);
            dev.printf(tx, "physical-sector-size", "%d", Blkif.SECTOR_SIZE);
            dev.printf(tx, "info", "%d", d.readOnly() ? Blkif.VDISK_READONLY : 0);
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

    private String optional(String dir, String key) throws SetupException {
        try {
            return dev.xenbus().xenstore().exists(dir + "/" + key)
                    ? dev.xenbus().xenstore().readString(dir + "/" + key) : null;
        } catch (IOException e) {
            throw new SetupException(5, "reading " + dir + "/" + key + ": " + e.getMessage());
        }
    }

    private int number(String dir, String key, int dflt) throws SetupException {
        String v = optional(dir, key);
        if (v == null) {
            if (dflt >= 0) return dflt;
            throw new SetupException(22, "reading " + dir + "/" + key);
        }
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new SetupException(22, dir + "/" + key + " is not a number: " + v);
        }
    }

    /**
     * Stops every queue's worker (a request being served finishes first), unmaps its persistent grants, closes
     * the ports, unmaps the rings.
     */
    @Override
    public void disconnect(XenbusDevice d) {
        for (Queue q : queues) q.stop();
        for (Queue q : queues) {
            if (q.persistentGrants != null) q.persistentGrants.releaseAll();
            if (q.port >= 0) dev.freeEvtchn(q.port);
            q.port = -1;
            dev.unmapRing(q.mapping);
            q.mapping = List.of();
        }
        queues.clear();
        // The image stays open across a frontend reconnect; remove and a final Closed close it.
    }

    /**
     * Tests: every queue's worker runs {@code stall} before anything it is given later (a disk that hangs); returns
     * once all of them are inside it, so no request the frontend puts on a ring from then on is served until
     * {@code stall} returns.
     */
    void stallQueuesForTest(Runnable stall) throws InterruptedException {
        List<Queue> qs = List.copyOf(queues);
        java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(qs.size());
        for (Queue q : qs) {
            q.worker.execute(() -> {
                inside.countDown();
                stall.run();
            });
        }
        if (!inside.await(60, java.util.concurrent.TimeUnit.SECONDS)) {
            throw new IllegalStateException("queue workers did not stall within 60 s");
        }
    }

    /** A queue whose ring broke: report it on the device and close the device (this device only). */
    private void failed(Queue q, String why) {
        dev.runOnBus(() -> {
            if (!queues.contains(q)) return; // already disconnected
            dev.devError(Errno.EPROTO, "queue " + q.index + ": " + why);
            states.set(XenbusState.CLOSING);
        });
    }

    /** One ring: its mapping, port, processor and worker thread. */
    private final class Queue implements Runnable {
        final int index;
        List<GrantMapping> mapping = List.of();
        volatile int port = -1;
        BlkbackRequestProcessor processor;
        PersistentGrants persistentGrants;
        private final ExecutorService worker;
        private final AtomicBoolean scheduled = new AtomicBoolean();
        private volatile boolean stopped;
        private boolean reported;

        Queue(int index) {
            this.index = index;
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
            int p = port;
            if (p < 0) return;
            try {
                dev.notify(p);
            } catch (HypercallException e) {
                dev.xenbus().printk("blkback " + dev.nodename() + ": notify on port " + p + ": " + e.getMessage());
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
