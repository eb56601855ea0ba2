package org.jxen.xenbus;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.jxen.hypervisor.Errno;
import org.jxen.xenstore.client.XsClient;

/**
 * One kernel's frontend or backend bus (xenbus_probe_frontend.c / xenbus_probe_backend.c): watches its part
 * of the store, creates a device when one of a registered driver's classes appears in state Initialising,
 * probes it, follows the other end's state, and removes the device when its nodes go.
 *
 * <p>Threading: XenStore watch callbacks arrive on the XsClient's dispatcher thread, which must never block;
 * they only queue work on this bus's worker. The worker is a set of lanes: one per device directory (its
 * discovery, probe, remove, every driver callback for it and its {@link XenbusDevice#runOnBus} work, in event
 * order) and one for the bus itself (scans of the directories above the devices). Each lane runs its tasks
 * one at a time, in order, on virtual threads; different devices' lanes run concurrently, so one kernel
 * serving thousands of devices (dom0's backends) is not limited to one XenStore round trip at a time. A scan
 * hands each device it finds to that device's lane and waits for it. Waiting for the other end (frontend
 * close) is done by the thread that unregisters a driver, never by the worker.
 */
public final class XenbusBus {
    /** Where each bus looks: {@code device/C/N} (two levels) or {@code backend/C/U/N} (three). */
    public enum Kind {
        FRONTEND("device", 2, "backend"),
        BACKEND("backend", 3, "frontend");

        final String dir;
        final int levels;
        /** The node naming the other end's directory; its domid is in {@code <name>-id}. */
        final String otherend;

        Kind(String dir, int levels, String otherend) {
            this.dir = dir;
            this.levels = levels;
            this.otherend = otherend;
        }
    }

    /** Linux's frontend shutdown waits this long per device for Closed. */
    public static final long CLOSE_TIMEOUT_SECONDS = 5;

    private static final AtomicLong TOKENS = new AtomicLong();

    private final Xenbus xenbus;
    private final Kind kind;
    private final String root;
    private final List<XenbusDriver> drivers = new CopyOnWriteArrayList<>();
    /**
     * Mutated on the worker only; concurrent so other threads may take snapshots; sorted so a scan finds the
     * devices under a directory without walking all of them (dom0 serves thousands).
     */
    private final NavigableMap<String, XenbusDevice> devices = new ConcurrentSkipListMap<>();
    /** The bus's own lane: scans above the device level. */
    private static final String BUS_LANE = "";

    private volatile ExecutorService worker;
    /** Each lane's last queued task; a lane's next task starts when that one is done. */
    private final Map<String, CompletableFuture<Void>> lanes = new ConcurrentHashMap<>();
    /** True on a thread running one of this bus's tasks (work asked for from there runs inline). */
    private final ThreadLocal<Boolean> onWorkerThread = ThreadLocal.withInitial(() -> false);
    private XenbusWatch rootWatch;
    /** The root has been listed once since its watch was set: {@link #classesSeen} knows every class since. */
    private volatile boolean rootListed;
    /** Device classes (directories under the root) listed there or named by an event under it; never shrinks. */
    private final Set<String> classesSeen = ConcurrentHashMap.newKeySet();
    /** Watch events held while suspended (lane, work), in arrival order; guards {@link #frozen}. */
    private final List<Map.Entry<String, Runnable>> held = new ArrayList<>();
    private boolean frozen;

    XenbusBus(Xenbus xenbus, Kind kind) {
        this.xenbus = xenbus;
        this.kind = kind;
        this.root = "/local/domain/" + xenbus.domid() + "/" + kind.dir;
    }

    public Xenbus xenbus() {
        return xenbus;
    }

    public Kind kind() {
        return kind;
    }

    /** The devices bound to a driver right now. */
    public List<XenbusDevice> devices() {
        return List.copyOf(devices.values());
    }

    public XenbusDevice device(String nodename) {
        return devices.get(nodename);
    }

    // ---- drivers ----

    /**
     * xenbus_register_{frontend,backend}: from now on devices of the driver's classes are probed; those already
     * in the store (Initialising, or Closed by an earlier driver unload: a re-bind) are probed before this returns.
     */
    public synchronized void register(XenbusDriver driver) throws IOException {
        for (XenbusDriver d : drivers) {
            for (String id : driver.ids()) {
                if (d.ids().contains(id)) throw new IllegalStateException("device class " + id + " already has a driver");
            }
        }
        drivers.add(driver);
        if (worker == null) start();
        // Only the new driver's classes can hold its devices: list those, not the whole bus (Linux enumerates
        // the bus once and matches each new driver against the devices it knows). A kernel registers several
        // built-in drivers at boot; rescanning everything for each cost three round trips apiece. A class the
        // bus has never seen has nothing to list: it was not there when the root was listed, and its creation
        // since would have been an event under the root (which, queued after the driver was added, probes).
        onWorker(() -> {
            for (String id : driver.ids()) {
                if (!rootListed || classesSeen.contains(id)) scan(root + "/" + id, true);
            }
            return null;
        });
    }

    /**
     * xenbus_unregister_driver: closes and removes the driver's devices. A frontend first asks each Connected
     * device to close (Closing) and waits up to {@link #CLOSE_TIMEOUT_SECONDS} for the handshake to reach Closed.
     */
    public synchronized void unregister(XenbusDriver driver) {
        if (!drivers.contains(driver)) return;
        List<XenbusDevice> mine = List.copyOf(devices.values()).stream().filter(d -> d.driver() == driver).toList();
        if (kind == Kind.FRONTEND) {
            for (XenbusDevice dev : mine) closeFrontend(dev);
        }
        for (XenbusDevice dev : mine) {
            onWorker(dev.nodename(), () -> {
                removeDevice(dev, "driver unloaded");
                return null;
            });
        }
        drivers.remove(driver);
        if (drivers.isEmpty()) stop();
    }

    private void closeFrontend(XenbusDevice dev) {
        Boolean asked = onWorker(dev.nodename(), () -> {
            if (dev.isGone() || dev.state() != XenbusState.CONNECTED) return false;
            return dev.switchState(XenbusState.CLOSING);
        });
        if (!Boolean.TRUE.equals(asked) || onWorkerThread.get()) return;
        try {
            if (!dev.awaitState(XenbusState.CLOSED, CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS) && !dev.isGone()) {
                xenbus.printk("xenbus: " + dev.nodename() + " timeout closing device");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void start() throws IOException {
        worker = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("xenbus-" + kind.dir + "-d" + xenbus.domid() + "-", 0).factory());
        rootWatch = watch(null, root, this::rootEventKey, this::onRootEvent);
    }

    private void stop() {
        if (rootWatch != null) rootWatch.close();
        rootWatch = null;
        rootListed = false;
        worker.shutdown();
        worker = null;
    }

    private XenbusDriver driverFor(String devicetype) {
        for (XenbusDriver d : drivers) {
            if (d.ids().contains(devicetype)) return d;
        }
        return null;
    }

    // ---- the worker ----

    /** Runs on the bus's own lane and waits for it (inline when already on the worker). */
    private <T> T onWorker(Callable<T> task) {
        return onWorker(BUS_LANE, task);
    }

    /** Runs on a lane and waits for it (inline when already on the worker). */
    private <T> T onWorker(String lane, Callable<T> task) {
        if (onWorkerThread.get()) return call(task);
        if (worker == null) throw new IllegalStateException("xenbus " + kind.dir + " bus is stopped");
        Future<T> f = submit(lane, () -> call(task));
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RejectedExecutionException r) {
                throw new IllegalStateException("xenbus " + kind.dir + " bus is stopped", r);
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * Queues a task on a lane: it starts once the lane's previous task is done. Fails (the future, with
     * RejectedExecutionException) when the bus has stopped; the lane carries on with its next task regardless.
     */
    private <T> CompletableFuture<T> submit(String lane, Callable<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        CompletableFuture<Void> previous = lanes.put(lane, done);
        done.whenComplete((x, e) -> lanes.remove(lane, done));
        Runnable start = () -> {
            ExecutorService w = worker;
            try {
                if (w == null) throw new RejectedExecutionException("stopped");
                w.execute(() -> {
                    onWorkerThread.set(true);
                    try {
                        result.complete(task.call());
                    } catch (Throwable t) {
                        result.completeExceptionally(t);
                    } finally {
                        onWorkerThread.set(false);
                        done.complete(null);
                    }
                });
            } catch (RejectedExecutionException e) {
                result.completeExceptionally(e);
                done.complete(null);
            }
        };
        if (previous == null) start.run();
        else previous.whenComplete((x, e) -> start.run());
        return result;
    }

    private <T> T call(Callable<T> task) {
        try {
            return task.call();
        } catch (Exception e) {
            xenbus.printk("xenbus: " + kind.dir + " bus: " + e);
            return null;
        }
    }

    /** Queues work on a lane (a device's nodename) from a watch callback; after the bus stopped, events are dropped. */
    void post(String lane, Runnable r) {
        if (worker == null) return;
        // Stopping: a rejected task completes its future exceptionally, and nobody is left to handle it.
        submit(lane, () -> {
            try {
                r.run();
            } catch (RuntimeException e) {
                xenbus.printk("xenbus: " + kind.dir + " bus: " + e);
            }
            return null;
        });
    }

    /** The lane of an event under the bus's root: the device directory it is in, else the bus's own. */
    private String laneOf(String path) {
        if (!path.startsWith(root + "/")) return BUS_LANE;
        String[] parts = path.substring(root.length() + 1).split("/");
        if (parts.length < kind.levels) return BUS_LANE;
        return root + "/" + String.join("/", Arrays.copyOf(parts, kind.levels));
    }

    /**
     * A watch whose callback runs on the worker; for a device, only while that device is the one registered
     * under its nodename (a removed or replaced device hears nothing more).
     */
    XenbusWatch watch(XenbusDevice dev, String path, Consumer<String> callback) throws IOException {
        return watch(dev, path, p -> p, callback);
    }

    /**
     * As {@link #watch(XenbusDevice, String, Consumer)}, with events coalesced: {@code keyOf} maps an event's
     * path to what the callback gets (null: nothing to do), and an event whose key is already queued on the
     * lane, not yet started, is dropped. Every callback re-reads the store when it runs, so a second queued
     * copy could only repeat the same reads; an event that arrives once the queued one has started is kept.
     * Linux queues every event; a device creation (one toolstack transaction) fires six events at dom0, and
     * this is what keeps a thousand concurrent handshakes from repeating their reads six times.
     */
    private XenbusWatch watch(XenbusDevice dev, String path, UnaryOperator<String> keyOf, Consumer<String> callback)
            throws IOException {
        String token = "xenbus/" + kind.dir + "/" + TOKENS.incrementAndGet();
        Set<String> queued = ConcurrentHashMap.newKeySet();
        XsClient xs = xenbus.xenstore();
        // Direct: the callback only queues work on a lane, so it can run on the thread that delivered the event.
        xs.watchDirect(path, token, (p, t) -> {
            String key = keyOf.apply(p);
            if (key == null || !queued.add(key)) return;
            deliver(dev != null ? dev.nodename() : laneOf(key), () -> {
                queued.remove(key);
                if (dev == null || devices.get(dev.nodename()) == dev) callback.accept(key);
            });
        });
        return new XenbusWatch(xs, path, token);
    }

    // ---- device discovery (worker) ----

    /**
     * What an event under the root asks for: a device's nodename (check that device) or a directory above the
     * devices (scan it); null when there is nothing to do. Runs on the thread that delivered the event.
     */
    private String rootEventKey(String path) {
        if (!path.equals(root) && !path.startsWith(root + "/")) return null;
        String rest = path.length() > root.length() ? path.substring(root.length() + 1) : "";
        String[] parts = rest.isEmpty() ? new String[0] : rest.split("/");
        if (parts.length > 0) classesSeen.add(parts[0]);
        if (parts.length < kind.levels) return path;
        String nodename = root + "/" + String.join("/", Arrays.copyOf(parts, kind.levels));
        // A write to another key of a known device (ring-ref, online, ...) can neither remove it nor change
        // its state: removal and re-creation fire on the directory itself, and a state change on "state".
        // Skipping those saves dom0 two round trips per write for every device it serves.
        boolean otherKey = parts.length > kind.levels && !(parts.length == kind.levels + 1
                && parts[kind.levels].equals("state"));
        return otherKey && devices.containsKey(nodename) ? null : nodename;
    }

    private void onRootEvent(String key) {
        if (laneOf(key).equals(key)) check(key, false);
        else scan(key, false);
    }

    /** Every device directory at or under {@code under}, present in the store or known to us. */
    private void scan(String under, boolean rebind) {
        Set<String> nodenames = new LinkedHashSet<>();
        int depth = under.equals(root) ? 0 : under.substring(root.length() + 1).split("/").length;
        list(under, kind.levels - depth, nodenames);
        // Keys from "under/" up to "under0" ('0' follows '/') are exactly those starting with "under/".
        nodenames.addAll(devices.subMap(under + "/", true, under + "0", false).keySet());
        if (under.equals(root) || !laneOf(under).equals(under)) {
            // Above the device level (the bus's lane): each device is checked on its own lane.
            List<CompletableFuture<Object>> checks = new ArrayList<>();
            for (String n : nodenames) {
                checks.add(submit(n, () -> {
                    check(n, rebind);
                    return null;
                }));
            }
            for (CompletableFuture<Object> c : checks) {
                try {
                    c.join();
                } catch (RuntimeException e) {
                    // Stopped meanwhile, or the check failed (it reports itself).
                }
            }
        } else {
            for (String n : nodenames) check(n, rebind);
        }
    }

    private void list(String dir, int levelsLeft, Set<String> out) {
        if (levelsLeft == 0) {
            out.add(dir);
            return;
        }
        List<String> children;
        try {
            children = xenbus.xenstore().directoryOrNull(dir);
        } catch (IOException e) {
            return; // not ours to read: nothing to probe there
        }
        if (dir.equals(root)) {
            if (children != null) classesSeen.addAll(children);
            rootListed = true;
        }
        if (children == null) return;
        for (String c : children) list(dir + "/" + c, levelsLeft - 1, out);
    }

    private enum Verdict { SAME, REMOVED, RECREATED, ADOPT, HIJACKED }

    /**
     * xenbus_dev_changed: create, keep or remove the device at {@code nodename}. For a known device, a
     * {@code state} we did not write means: Initialising, the directory was removed and re-created before we
     * cleaned up (probe afresh); on the backend, the toolstack set it (libxl's remove writes Closing: adopt);
     * on the frontend, a peer wrote our node behind our back (reported on the device, and we close).
     */
    private void check(String nodename, boolean rebind) {
        check(nodename, rebind, null);
    }

    /** {@link #check}, with our {@code state} already read by the caller ({@code ownState}; null: read it here). */
    private void check(String nodename, boolean rebind, Optional<String> ownState) {
        XenbusDevice dev = devices.get(nodename);
        if (dev != null) {
            XenbusState stored;
            Verdict v;
            synchronized (dev) {
                String raw = ownState != null ? ownState.orElse(null) : readOrNull(nodename + "/state");
                stored = XenbusState.parse(raw);
                // A node's parent always exists: only a missing state needs the second round trip.
                boolean exists = raw != null || exists(nodename);
                XenbusState cached = dev.state();
                if (!exists) v = Verdict.REMOVED;
                else if (stored == cached || stored == XenbusState.UNKNOWN) v = Verdict.SAME;
                else if (stored == XenbusState.INITIALISING) v = Verdict.RECREATED;
                else if (kind == Kind.BACKEND) v = Verdict.ADOPT;
                else v = Verdict.HIJACKED;
                if (v == Verdict.ADOPT || v == Verdict.HIJACKED) dev.adoptState(stored);
            }
            switch (v) {
                case SAME -> { return; }
                case REMOVED -> {
                    // Seen gone: if the toolstack re-creates it meanwhile, the directory is a new device's.
                    dev.detach();
                    removeDevice(dev, "removed");
                    return;
                }
                case RECREATED -> {
                    xenbus.printk("xenbus: " + nodename + " was removed and re-created; probing it afresh");
                    // The old device's teardown must not write Closed into the new device's directory.
                    dev.detach();
                    removeDevice(dev, "re-created");
                }
                case ADOPT -> {
                    xenbus.printk("xenbus: " + nodename + " state set to " + stored + " by the toolstack");
                    return;
                }
                case HIJACKED -> {
                    dev.devFatal(Errno.EINVAL, "state changed behind our back to " + stored);
                    return;
                }
            }
        }
        probe(nodename, rebind);
    }

    /** The node's value, or null when it is missing or unreadable. */
    private String readOrNull(String path) {
        try {
            return xenbus.xenstore().readOrNull(path);
        } catch (IOException e) {
            return null;
        }
    }

    private boolean exists(String path) {
        try {
            return xenbus.xenstore().exists(path);
        } catch (IOException e) {
            return false;
        }
    }

    /** xenbus_read_driver_state: Unknown when missing, unreadable or malformed. */
    static XenbusState readState(XsClient xs, String path) {
        try {
            return XenbusState.parse(xs.readString(path));
        } catch (IOException e) {
            return XenbusState.UNKNOWN;
        }
    }

    // ---- probe and remove (worker) ----

    private void probe(String nodename, boolean rebind) {
        XenbusState stored = readState(xenbus.xenstore(), nodename + "/state");
        boolean rebinding = rebind && stored == XenbusState.CLOSED;
        if (stored != XenbusState.INITIALISING && !rebinding) return;
        String devicetype = nodename.substring(root.length() + 1).split("/")[0];
        XenbusDriver driver = driverFor(devicetype);
        if (driver == null) return;
        XenbusDevice dev = new XenbusDevice(this, driver, nodename, devicetype);
        if (rebinding) dev.adoptState(XenbusState.CLOSED);
        if (!talkToOtherend(dev)) {
            xenbus.printk("xenbus: probe of " + nodename + " failed");
            return;
        }
        // A device left Closed by an earlier driver starts over, so the other end sees a new handshake.
        if (rebinding) dev.switchState(XenbusState.INITIALISING);
        // Registered before the driver's probe, as device_add precedes driver binding in Linux: whatever the
        // probe writes is then already the state of a known device.
        devices.put(nodename, dev);
        try {
            driver.probe(dev);
        } catch (Exception e) {
            devices.remove(nodename, dev);
            for (XenbusWatch w : dev.takeWatches()) w.close();
            xenbus.printk("xenbus: probe of " + nodename + " failed");
            dev.releaseLeftovers();
            dev.devFatal(XenbusDevice.errnoOf(e), "probe failed: " + e.getMessage());
            dev.markGone();
            return;
        }
        watchOtherend(dev);
    }

    /** watch_otherend: the other end's state; the watch fires once at once, so the driver sees where it is. */
    private void watchOtherend(XenbusDevice dev) {
        try {
            dev.setOtherendWatch(dev.watchPath(dev.otherendPath() + "/state", path -> otherendChanged(dev, path)));
        } catch (IOException e) {
            dev.devFatal(XenbusDevice.errnoOf(e), "watching " + dev.otherendPath() + "/state");
        }
    }

    // ---- suspend and resume (drivers/xen/xenbus/xenbus_probe.c) ----

    /**
     * xenbus_dev_suspend for every device (PM freeze, before the suspend hypercall): each driver's suspend, on
     * the device's lane, waited for. Not on the bus worker.
     */
    public void suspend() {
        forEachDevice(dev -> dev.driver().suspend(dev));
        // xs_suspend: from here until the resume (or its cancel) store events wait, as a frozen kernel's would.
        synchronized (held) {
            frozen = true;
        }
        // A resume may find another store (a migration's): until its root is listed, registrations list their own.
        rootListed = false;
    }

    /** xenbus_dev_cancel (PM thaw after a cancelled suspend): the connections were kept; held events run now. */
    public void suspendCancelled() {
        thaw();
    }

    /** A watch event's work, or held while the bus is frozen for a suspend. */
    private void deliver(String lane, Runnable work) {
        synchronized (held) {
            if (frozen) {
                held.add(Map.entry(lane, work));
                return;
            }
        }
        post(lane, work);
    }

    private void thaw() {
        List<Map.Entry<String, Runnable>> run;
        synchronized (held) {
            frozen = false;
            run = new ArrayList<>(held);
            held.clear();
        }
        for (Map.Entry<String, Runnable> e : run) post(e.getKey(), e.getValue());
    }

    /**
     * xenbus_dev_resume for every device (PM restore: the domain resumed as a new one): drop the other-end watch,
     * read {@code backend}/{@code backend-id} again (the backend may be another domain's, on another host), set
     * the cached state to Initialising, run the driver's resume, and watch the new other end, which answers as at
     * boot (InitWait, and the driver connects again). A device whose details are gone is reported and left.
     */
    public void resume() {
        forEachDevice(dev -> {
            XenbusWatch old = dev.takeOtherendWatch();
            if (old != null) old.close();
            if (!talkToOtherend(dev)) return;
            dev.adoptState(XenbusState.INITIALISING);
            try {
                dev.driver().resume(dev);
            } catch (Exception e) {
                dev.devFatal(XenbusDevice.errnoOf(e), "resume failed");
                return;
            }
            watchOtherend(dev);
        });
        // Events the toolstack's new device nodes fired meanwhile now find every device reset to Initialising.
        thaw();
    }

    /** Runs {@code work} for each device on its lane, all in parallel, and waits for them. */
    private void forEachDevice(DeviceWork work) {
        List<CompletableFuture<Object>> runs = new ArrayList<>();
        for (XenbusDevice dev : devices()) {
            runs.add(submit(dev.nodename(), () -> {
                if (devices.get(dev.nodename()) == dev) work.run(dev);
                return null;
            }));
        }
        for (CompletableFuture<Object> r : runs) {
            try {
                r.join();
            } catch (RuntimeException e) {
                // Stopped meanwhile, or the work failed (submit reports it).
            }
        }
    }

    private interface DeviceWork {
        void run(XenbusDevice dev) throws Exception;
    }

    /** read_otherend_details: {@code backend}/{@code backend-id} or {@code frontend}/{@code frontend-id}. */
    private boolean talkToOtherend(XenbusDevice dev) {
        String path;
        int id;
        try {
            Map<String, String> m = dev.gather(dev.nodename(), kind.otherend + "-id", kind.otherend);
            id = Integer.parseInt(m.get(kind.otherend + "-id").strip());
            path = m.get(kind.otherend);
        } catch (IOException | NumberFormatException e) {
            dev.devFatal(e instanceof IOException io ? XenbusDevice.errnoOf(io) : Errno.EINVAL,
                    "reading other end details from " + dev.nodename());
            return false;
        }
        if (path.isEmpty() || !exists(path)) {
            dev.devFatal(Errno.ENOENT, "unable to read other end from " + dev.nodename() + ".  missing or inaccessible.");
            return false;
        }
        dev.setOtherend(path, id);
        return true;
    }

    /** xenbus_otherend_changed, with its path-prefix guard; the state is re-read, so events coalesce. */
    private void otherendChanged(XenbusDevice dev, String path) {
        if (!isOtherendEvent(dev.otherendPath(), path)) return;
        // Our own directory first: if it was removed or re-created, the old device must not react (and write).
        // Both states are read in one round trip; the other end's is only used if ours says we are still here.
        String own;
        String other;
        try {
            List<String> both = xenbus.xenstore().readAll(List.of(dev.nodename() + "/state", dev.otherendPath() + "/state"));
            own = both.get(0);
            other = both.get(1);
        } catch (IOException e) {
            // One of them unreadable: each read on its own decides, as before.
            own = readOrNull(dev.nodename() + "/state");
            other = readOrNull(dev.otherendPath() + "/state");
        }
        check(dev.nodename(), false, Optional.ofNullable(own));
        if (devices.get(dev.nodename()) != dev) return;
        XenbusState state = XenbusState.parse(other);
        try {
            dev.driver().otherendChanged(dev, state);
        } catch (IllegalXenbusTransition e) {
            dev.devFatal(Errno.EINVAL, e.getMessage());
        } catch (RuntimeException e) {
            dev.devFatal(Errno.EIO, "handling other end state " + state + ": " + e);
        }
    }

    /**
     * Linux compares the event path with the other end's path as a prefix (strncmp), so a watch that fires
     * for old details after the other end moved (resume) is ignored.
     */
    public static boolean isOtherendEvent(String otherendPath, String eventPath) {
        return otherendPath != null && !otherendPath.isEmpty() && eventPath.startsWith(otherendPath);
    }

    /** Unregisters a device from a driver callback (netback's device_unregister) or from outside. */
    void unregister(XenbusDevice dev, String why) {
        onWorker(dev.nodename(), () -> {
            removeDevice(dev, why);
            return null;
        });
    }

    /** xenbus_dev_remove: watches dropped, driver remove, leftovers released, Closed (if the node exists). */
    private void removeDevice(XenbusDevice dev, String why) {
        if (!devices.remove(dev.nodename(), dev)) return;
        for (XenbusWatch w : dev.takeWatches()) w.close();
        try (var batch = xenbus.deferredGrants().batch()) {
            try {
                dev.driver().remove(dev);
            } catch (RuntimeException e) {
                xenbus.printk("xenbus: remove of " + dev.nodename() + " failed: " + e);
            }
            dev.releaseLeftovers();
        }
        dev.switchState(XenbusState.CLOSED);
        dev.markGone();
        System.getLogger("jxen.xenbus").log(System.Logger.Level.DEBUG, dev.nodename() + " removed: " + why);
    }

    /** For tests and tools: the devices of this bus, as nodename to cached state. */
    public Map<String, XenbusState> states() {
        Map<String, XenbusState> m = new TreeMap<>();
        for (XenbusDevice d : new ArrayList<>(devices.values())) m.put(d.nodename(), d.state());
        return m;
    }
}
