package org.jxen.xenbus;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.EventHandler;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.XsClient;

/**
 * Linux's {@code struct xenbus_device} with the xenbus_client.c helpers: one device of one driver on one bus.
 * {@link #nodename()} is the absolute path of our directory, {@link #otherendPath()} that of the other end's.
 *
 * <p>Every grant, port and mapping made through these helpers is remembered, so that removal can report (and
 * give back) whatever a driver forgot, and {@link Kernel#xenbusResources()} can show that teardown is complete.
 */
public final class XenbusDevice {
    private final XenbusBus bus;
    private final XenbusDriver driver;
    private final String nodename;
    private final String devicetype;
    private final String home;
    private volatile String otherendPath;
    private volatile int otherendId;
    /** Guarded by this: the state we last wrote (xenbus_device.state). */
    private XenbusState state = XenbusState.INITIALISING;
    private volatile boolean gone;
    /** Set when our directory now belongs to a new incarnation of the device: we must not write into it. */
    private volatile boolean detached;
    private final Set<Integer> grants = ConcurrentHashMap.newKeySet();
    private final Set<Integer> ports = ConcurrentHashMap.newKeySet();
    private final Map<Integer, GrantMapping> mappings = new ConcurrentHashMap<>();
    private final List<XenbusWatch> watches = new ArrayList<>();
    private XenbusWatch otherendWatch;

    XenbusDevice(XenbusBus bus, XenbusDriver driver, String nodename, String devicetype) {
        this.bus = bus;
        this.driver = driver;
        this.nodename = nodename;
        this.devicetype = devicetype;
        this.home = "/local/domain/" + bus.xenbus().domid();
    }

    public Xenbus xenbus() {
        return bus.xenbus();
    }

    public XenbusDriver driver() {
        return driver;
    }

    public String nodename() {
        return nodename;
    }

    /** The device class, e.g. "mydevice". */
    public String devicetype() {
        return devicetype;
    }

    public boolean isBackend() {
        return bus.kind() == XenbusBus.Kind.BACKEND;
    }

    public String otherendPath() {
        return otherendPath;
    }

    public int otherendId() {
        return otherendId;
    }

    void setOtherend(String path, int id) {
        this.otherendPath = path;
        this.otherendId = id;
    }

    /** The state we last switched to (not re-read from the store). */
    public synchronized XenbusState state() {
        return state;
    }

    /**
     * Runs {@code work} on the bus worker, in this device's lane (after its pending callbacks). Event-channel handlers must use this for anything that talks to
     * XenStore: in a guest the event thread also delivers the xenstore ring's notifications, so a XenStore
     * call made on it would wait for itself (Linux forbids xenbus calls from interrupt context likewise).
     */
    public void runOnBus(Runnable work) {
        bus.post(nodename(), work);
    }

    /** device_unregister: removes this device now (netback does so when the frontend closed with online=0). */
    public void unregister() {
        bus.unregister(this, "unregistered by its driver");
    }

    /** True once the device was unregistered: its callbacks will not run again. */
    public boolean isGone() {
        return gone;
    }

    /** The directory was re-created under us: from now on this device never writes its state node. */
    void detach() {
        detached = true;
    }

    void markGone() {
        gone = true;
        synchronized (this) {
            notifyAll();
        }
    }

    // ---- state ----

    /** switchState's transaction ends without its write: the node was gone or is a new device's. */
    private static final class NotWritten extends RuntimeException {
        NotWritten() {
            super(null, null, false, false);
        }
    }

    private static final NotWritten NOT_WRITTEN = new NotWritten();

    /**
     * xenbus_switch_state: nothing if {@code next} is the cached state; otherwise, in a transaction of its own,
     * read {@code state} and write it (sent together), keeping the write only if the node still existed (never
     * resurrect a removed directory: the transaction is aborted), retrying on EAGAIN. The cached state changes either way, as in Linux. A failure is reported on the device.
     */
    public synchronized boolean switchState(XenbusState next) {
        if (next == state) return true;
        if (detached) {
            state = next;
            notifyAll();
            return true;
        }
        try {
            XenbusState cached = state;
            xs().transaction(tx -> {
                // Read and write in one round trip; a state we must not overwrite aborts the transaction, and
                // the write with it.
                String raw = tx.readOrNullThenWrite(nodename + "/state", next.format());
                if (raw == null) throw NOT_WRITTEN;
                // Initialising that we did not write: the toolstack removed and re-created the directory since
                // we last looked. It belongs to the new device (the bus probes it); writing would clobber it.
                XenbusState now = XenbusState.parse(raw);
                if (now == XenbusState.INITIALISING && cached != XenbusState.INITIALISING) throw NOT_WRITTEN;
                return true;
            });
        } catch (NotWritten e) {
            // Gone or re-created: nothing written; the cached state still follows the driver.
        } catch (IOException e) {
            devError(errnoOf(e), "writing new state " + next);
            return false;
        }
        state = next;
        notifyAll();
        return true;
    }

    /**
     * xenbus_frontend_closed: the frontend has torn its connection down and answers the backend's close with
     * Closed (the backend then closes too and, with {@code online = 0}, goes away).
     */
    public void frontendClosed() {
        switchState(XenbusState.CLOSED);
    }

    /** Used by the bus when it adopts a state the toolstack wrote into our node. */
    synchronized void adoptState(XenbusState s) {
        state = s;
        notifyAll();
    }

    /** Waits (not on the bus worker!) until our cached state is {@code target} or the device is gone. */
    synchronized boolean awaitState(XenbusState target, long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (state != target && !gone) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return state == target;
    }

    /** The other end's state as the store has it now (Unknown if missing or unreadable). */
    public XenbusState readOtherendState() {
        return XenbusBus.readState(xs(), otherendPath + "/state");
    }

    // ---- errors ----

    /**
     * xenbus_dev_error: logs and writes {@code "<errno> <message>"} to
     * {@code /local/domain/<self>/error/<nodename relative to our home>/error} for the toolstack to report.
     */
    public void devError(Errno errno, String message) {
        String text = errno.code + " " + message;
        xenbus().printk("xenbus " + nodename + ": " + text);
        String rel = nodename.startsWith(home + "/") ? nodename.substring(home.length() + 1) : nodename.substring(1);
        try {
            xs().write(home + "/error/" + rel + "/error", text);
        } catch (IOException e) {
            xenbus().printk("xenbus: failed to write error node for " + nodename + ": " + e.getMessage());
        }
    }

    /** xenbus_dev_fatal: {@link #devError} and switch to Closing. */
    public void devFatal(Errno errno, String message) {
        devError(errno, message);
        switchState(XenbusState.CLOSING);
    }

    /** The errno a failure is reported with: the store's or the hypervisor's own, else EIO. */
    public static Errno errnoOf(Exception e) {
        // The first cause that knows its errno: wrappers (an UncheckedIOException of an allocator) keep it.
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof XenbusException x) return x.errno();
            if (t instanceof XenStoreException x) return Errno.of(x.error().errno);
            if (t instanceof HypercallException h) return h.errno();
            if (t instanceof GrantException g) return g.errno();
        }
        return Errno.EIO;
    }

    // ---- store helpers (keys relative to a directory, as xenbus_read/xenbus_gather take them) ----

    XsClient xs() {
        return xenbus().xenstore();
    }

    /** Our node {@code key}; ENOENT as a {@link XenStoreException}. */
    public String read(String key) throws IOException {
        return xs().readString(nodename + "/" + key);
    }

    /** Our node {@code key}, or null if it is missing. */
    public String readOrNull(String key) throws IOException {
        return xs().readOrNull(nodename + "/" + key);
    }

    public String readOtherend(String key) throws IOException {
        return xs().readString(otherendPath + "/" + key);
    }

    public void write(String key, String value) throws IOException {
        xs().write(nodename + "/" + key, value);
    }

    /**
     * xenbus_gather(XBT_NIL, ...): several keys of {@code dir}, read one by one outside any transaction, as
     * Linux's read_otherend_details and the backends' ring-ref reads do (the other end wrote them in one
     * transaction); any missing one is ENOENT.
     */
    public Map<String, String> gather(String dir, String... keys) throws IOException {
        // The reads go together (one round trip): outside a transaction they are no more atomic one by one.
        List<String> paths = new ArrayList<>(keys.length);
        for (String k : keys) paths.add(dir + "/" + k);
        List<String> read = xs().readAll(paths);
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 0; i < keys.length; i++) {
            // As a READ one at a time: a missing key is the caller's failure.
            if (read.get(i) == null) throw new XenStoreException(XsError.ENOENT, "READ: ENOENT");
            values.put(keys[i], read.get(i));
        }
        return values;
    }

    /** xenbus_gather inside the caller's transaction. */
    public Map<String, String> gather(XsClient.Tx tx, String dir, String... keys) throws IOException {
        Map<String, String> values = new LinkedHashMap<>();
        for (String k : keys) values.put(k, tx.readString(dir + "/" + k));
        return values;
    }

    /** xenbus_printf inside a transaction: writes {@code String.format(fmt, args)} to our node {@code key}. */
    public void printf(XsClient.Tx tx, String key, String fmt, Object... args) throws IOException {
        tx.write(nodename + "/" + key, String.format(fmt, args));
    }

    /** xenbus_printf(tx, key, "%d", value), without parsing a format for every ring key a device writes. */
    public void printf(XsClient.Tx tx, String key, long value) throws IOException {
        tx.write(nodename + "/" + key, Long.toString(value));
    }

    /** Runs {@code body} in a transaction, re-running it on EAGAIN. */
    public <T> T transaction(XsClient.TxBody<T> body) throws IOException {
        return xs().transaction(body);
    }

    /** Whether the toolstack wants the device kept ({@code online = 1}); xenbus_dev_is_online. */
    public boolean isOnline() {
        try {
            String v = readOrNull("online");
            return v != null && v.strip().equals("1");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * xenbus_watch_path: {@code callback} gets the event path on the bus worker until the device goes (or the
     * returned watch is closed).
     */
    public XenbusWatch watchPath(String path, Consumer<String> callback) throws IOException {
        XenbusWatch w = bus.watch(this, path, callback);
        synchronized (watches) {
            watches.add(w);
        }
        return w;
    }

    /** The watch on the other end's state, which a resume replaces (watch_otherend / free_otherend_watch). */
    void setOtherendWatch(XenbusWatch w) {
        synchronized (watches) {
            otherendWatch = w;
        }
    }

    /** The other-end watch, forgotten here and in the device's watches; null if there is none. */
    XenbusWatch takeOtherendWatch() {
        synchronized (watches) {
            XenbusWatch w = otherendWatch;
            otherendWatch = null;
            if (w != null) watches.remove(w);
            return w;
        }
    }

    List<XenbusWatch> takeWatches() {
        synchronized (watches) {
            List<XenbusWatch> all = new ArrayList<>(watches);
            watches.clear();
            return all;
        }
    }

    // ---- grants, event channels and mappings, all through the kernel's hypercalls ----

    private Hypercalls hc() {
        return xenbus().hypercalls();
    }

    /** xenbus_grant_ring: grants the other end write access to each page; the refs in page order. */
    public int[] grantRing(MemorySegment... pages) throws HypercallException {
        try {
            return grantAll(pages);
        } catch (HypercallException e) {
            devFatal(e.errno(), "granting access to ring page");
            throw e;
        }
    }

    /** As {@link #grantRing}, leaving the report to the caller; on failure nothing stays granted. */
    int[] grantAll(MemorySegment... pages) throws HypercallException {
        return grantPages(false, pages);
    }

    /**
     * Grants the other end access to data pages (netfront's tx buffers read-only, its rx buffers writable), held
     * and accounted as ring grants are: {@link #endAccessAndFree} ends each; on failure nothing stays granted.
     */
    public int[] grantPages(boolean readonly, MemorySegment... pages) throws HypercallException {
        int[] refs = new int[pages.length];
        int done = 0;
        try {
            for (; done < pages.length; done++) {
                refs[done] = hc().grantTable().grantAccess(otherendId, xenbus().frameOf(pages[done]), readonly);
                grants.add(refs[done]);
                xenbus().resources().grants.incrementAndGet();
            }
            return refs;
        } catch (HypercallException e) {
            for (int i = 0; i < done; i++) endAccessAndFree(refs[i], null);
            throw e;
        }
    }

    /**
     * gnttab_end_foreign_access with its page: ends the grant and frees the page, or, while the other end
     * still maps it, defers both until it no longer does (the page must not be reused under a mapping).
     */
    public void endAccessAndFree(int ref, MemorySegment page) {
        if (!grants.remove(ref)) return;
        if (hc().grantTable().endAccess(ref)) {
            xenbus().resources().grants.decrementAndGet();
            if (page != null) xenbus().freePage(page);
        } else {
            xenbus().deferredGrants().add(ref, page);
        }
    }

    /** xenbus_alloc_evtchn: an unbound port offered to the other end, with {@code handler} for its events. */
    public int allocEvtchn(EventHandler handler) throws HypercallException {
        int port = hc().allocUnbound(otherendId);
        ownPort(port, handler);
        return port;
    }

    /** bind_interdomain_evtchn: binds to the other end's unbound {@code remotePort}. */
    public int bindEvtchn(int remotePort, EventHandler handler) throws HypercallException {
        int port = hc().bindInterdomain(otherendId, remotePort);
        ownPort(port, handler);
        return port;
    }

    private void ownPort(int port, EventHandler handler) {
        ports.add(port);
        xenbus().resources().ports.incrementAndGet();
        if (handler != null) hc().onEvent(port, handler);
    }

    /** xenbus_free_evtchn: drops the handler and closes the port. */
    public void freeEvtchn(int port) {
        if (!ports.remove(port)) return;
        xenbus().resources().ports.decrementAndGet();
        hc().onEvent(port, null);
        try {
            hc().closePort(port);
        } catch (HypercallException e) {
            xenbus().printk("xenbus " + nodename + ": closing port " + port + ": " + e.getMessage());
        }
    }

    /** notify_remote_via_evtchn. */
    public void notify(int port) throws HypercallException {
        hc().send(port);
    }

    /**
     * xenbus_map_ring_valloc: maps the other end's granted pages; on failure nothing stays mapped and EFAULT is
     * thrown (caused by the GrantException) for the caller to report, or ENOSPC / ENOMEM when the mapping domain
     * ran out of maptrack handles or of its own mappings. {@link BackRings} maps through it.
     */
    List<GrantMapping> mapAll(int... refs) throws XenbusException {
        List<GrantMapping> done = new ArrayList<>();
        for (int ref : refs) {
            try {
                GrantMapping m = hc().mapGrant(otherendId, ref, false);
                mappings.put(m.handle(), m);
                xenbus().resources().mappings.incrementAndGet();
                done.add(m);
            } catch (GrantException e) {
                unmapRing(done);
                // A bad grant is EFAULT; running out of handles or of our own memory says what ran out.
                Errno errno = switch (e.errno()) {
                    case ENOSPC, ENOMEM, EMFILE -> e.errno();
                    default -> Errno.EFAULT;
                };
                throw new XenbusException(errno,
                        "mapping in shared page " + ref + " from domain " + otherendId + ": " + e.getMessage(), e);
            }
        }
        return done;
    }

    /** xenbus_map_ring_valloc for a driver's own ring (a netif ctrl ring): as {@link BackRings} maps its rings. */
    public List<GrantMapping> mapRing(int... refs) throws XenbusException {
        return mapAll(refs);
    }

    /** xenbus_unmap_ring_vfree. */
    public void unmapRing(List<GrantMapping> ring) {
        for (GrantMapping m : ring) {
            if (mappings.remove(m.handle()) == null) continue;
            xenbus().resources().mappings.decrementAndGet();
            try {
                hc().unmapGrant(m.handle());
            } catch (GrantException e) {
                xenbus().printk("xenbus " + nodename + ": unmapping grant " + m.ref() + ": " + e.getMessage());
            }
        }
    }

    /** After the driver's remove: give back whatever it still holds, and say so (a driver bug). */
    void releaseLeftovers() {
        int leaked = grants.size() + ports.size() + mappings.size();
        if (leaked == 0) return;
        xenbus().printk("xenbus " + nodename + ": driver " + driver.getClass().getSimpleName() + " left "
                + mappings.size() + " mappings, " + ports.size() + " ports, " + grants.size() + " grants behind");
        unmapRing(new ArrayList<>(mappings.values()));
        for (int port : List.copyOf(ports)) freeEvtchn(port);
        for (int ref : List.copyOf(grants)) endAccessAndFree(ref, null);
    }

    @Override
    public String toString() {
        return nodename;
    }
}
