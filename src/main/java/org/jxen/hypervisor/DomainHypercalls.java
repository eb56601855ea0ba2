package org.jxen.hypervisor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel.MapMode;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one {@link Hypercalls} implementation: the data plane (own memory, own grant entries, pending bits,
 * futex wake-ups, the event thread) works on the domain's files directly, the control plane goes through a
 * {@link ControlPlane}. It maps only its own files, the single pages the hypervisor approved, and the event page
 * (page 0 only) of peers its ports are bound to.
 *
 * <p>A paused domain runs no guest code: its event thread delivers nothing ({@link EventLoop}), and any of its
 * threads that makes a hypercall is held at the entry until the domain is unpaused (or dies), as Xen holds a
 * paused domain's vCPUs off the CPUs. Pending events stay pending and are delivered after the unpause.
 */
public final class DomainHypercalls implements Hypercalls {
    private final ControlPlane control;
    private final RunDir runDir;
    private final DomainLayout layout;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment memory;
    private final GrantTable grantTable;
    private final EventPage events;
    private final PortTable ports;
    private final Map<Integer, Arena> mappings = new ConcurrentHashMap<>();
    private final Map<Integer, EventPage> peers = new ConcurrentHashMap<>();
    private final DomainControl domainControl;
    private final Map<Integer, EventHandler> portHandlers = new ConcurrentHashMap<>();
    private volatile EventHandler defaultHandler;
    private EventLoop loop;
    private boolean closed;
    private final VcpuClock clock = new VcpuClock();

    public DomainHypercalls(ControlPlane control, RunDir runDir) {
        this.control = control;
        this.runDir = runDir;
        this.layout = control.layout();
        int id = layout.domid();
        int serial = layout.serial();
        this.memory = SharedFile.map(runDir.memory(id, serial), MapMode.READ_WRITE, 0,
                (long) layout.memoryPages() * GrantEntry.PAGE_SIZE, arena);
        this.grantTable = new GrantTable(SharedFile.map(runDir.grantTable(id, serial), MapMode.READ_WRITE, 0,
                GrantTable.FILE_SIZE, arena), control);
        this.events = new EventPage(SharedFile.map(runDir.events(id, serial), MapMode.READ_WRITE, 0,
                EventPage.SIZE, arena));
        // Read-only: only the hypervisor may say who a port is bound to.
        this.ports = new PortTable(SharedFile.map(runDir.events(id, serial), MapMode.READ_ONLY, PortTable.OFFSET,
                PortTable.SIZE, arena));
        this.domainControl = new ControlPlaneDomainControl(control, this::mapPage);
        // The MMU's part of log-dirty mode: the mapping the kernel writes through can be write-tracked
        // (LogDirty); nothing is protected until the toolstack enables log-dirty mode for a live migration.
        if (id != 0) {
            int fd = org.jxen.libc.Uffd.registerWriteProtectAsync(memory);
            trackFd = fd;
            try {
                control.memoryMapped(memory.address(), fd >= 0);
            } catch (HypercallException e) {
                System.getLogger("jxen.hypervisor").log(System.Logger.Level.DEBUG, "d" + id + " memoryMapped: " + e.getMessage());
            }
        }
    }

    /** The userfaultfd tracking writes to {@link #memory}, or -errno when it could not be had. */
    private int trackFd = -1;

    @Override
    public DomainLayout layout() {
        return layout;
    }

    @Override
    public MemorySegment memory() {
        return memory;
    }

    @Override
    public GrantTable grantTable() {
        return grantTable;
    }

    @Override
    public GrantMapping mapGrant(int granter, int ref, boolean readonly) throws GrantException {
        enter();
        MapReply reply = control.mapGrant(granter, ref, readonly);
        Arena pageArena = Arena.ofShared();
        MemorySegment page;
        try {
            MapCount.reserve();
            page = SharedFile.map(reply.file(), readonly ? MapMode.READ_ONLY : MapMode.READ_WRITE,
                    (long) reply.frame() * GrantEntry.PAGE_SIZE, GrantEntry.PAGE_SIZE, pageArena);
        } catch (MapCount.Exhausted | java.io.UncheckedIOException e) {
            // Our own process ran out (map count, memory, file descriptors): give the grant back, say what ran out.
            if (!(e instanceof MapCount.Exhausted)) MapCount.release();
            pageArena.close();
            try {
                control.unmapGrant(reply.handle());
            } catch (GrantException ignored) {
                // the handle was ours a moment ago; nothing else to undo
            }
            Errno errno = e instanceof MapCount.Exhausted ? Errno.ENOMEM : MapCount.errnoOf(e);
            throw new GrantException(GrantStatus.GENERAL_ERROR, errno, "mapping ref " + ref + " of d" + granter
                    + ": " + errno.name() + " (" + e.getMessage() + ")");
        }
        mappings.put(reply.handle(), pageArena);
        return new GrantMapping(reply.handle(), granter, ref, readonly, page);
    }

    @Override
    public void unmapGrant(int handle) throws GrantException {
        enter();
        control.unmapGrant(handle);
        Arena pageArena = mappings.remove(handle);
        if (pageArena != null) {
            pageArena.close();
            MapCount.release();
        }
    }

    @Override
    public void grantCopy(CopyBatch batch) throws HypercallException {
        enter();
        control.grantCopy(batch.ops, batch.count(), batch.status);
    }

    @Override
    public int allocUnbound(int remoteDom) throws HypercallException {
        enter();
        return control.allocUnbound(DOMID_SELF, remoteDom);
    }

    @Override
    public int bindInterdomain(int remoteDom, int remotePort) throws HypercallException {
        enter();
        return control.bindInterdomain(remoteDom, remotePort);
    }

    @Override
    public int bindVirq(int virq) throws HypercallException {
        enter();
        return control.bindVirq(virq);
    }

    @Override
    public void closePort(int port) throws HypercallException {
        enter();
        control.closePort(port);
    }

    @Override
    public void send(int port) throws HypercallException {
        enter();
        if (port < 0 || port >= EventPage.MAX_PORTS) throw new HypercallException(Errno.EINVAL, "port " + port);
        long entry = ports.get(port);
        switch (PortTable.state(entry)) {
            case UNBOUND -> {
                // Xen drops a send on an unbound port silently: the peer has not connected yet.
            }
            case INTERDOMAIN -> {
                EventPage peer = peer(PortTable.remoteDom(entry), (int) PortTable.remoteSerial(entry));
                if (peer != null) peer.raise(PortTable.remotePort(entry));
            }
            default -> throw new HypercallException(Errno.EINVAL, "port " + port + " is not interdomain");
        }
    }

    /** The peer's event page; the fast path is one lock-free map lookup, mapping happens once per peer. */
    private EventPage peer(int domid, int serial) {
        if (domid == layout.domid() && serial == layout.serial()) return events;
        EventPage page = peers.get(serial);
        return page != null ? page : mapPeer(domid, serial);
    }

    private synchronized EventPage mapPeer(int domid, int serial) {
        if (closed) return null;
        EventPage page = peers.get(serial);
        if (page == null) {
            try {
                page = new EventPage(SharedFile.map(runDir.events(domid, serial), MapMode.READ_WRITE, 0,
                        EventPage.SIZE, arena));
            } catch (java.io.UncheckedIOException gone) {
                // The peer was destroyed and its file deleted between the hypervisor's bind and this send.
                return null;
            }
            peers.put(serial, page);
        }
        return page;
    }

    @Override
    public ChannelStatus status(int port) throws HypercallException {
        enter();
        return control.status(DOMID_SELF, port);
    }

    @Override
    public void mask(int port) {
        events.mask(checkPort(port));
    }

    @Override
    public void unmask(int port) {
        events.unmask(checkPort(port));
    }

    @Override
    public boolean isPending(int port) {
        return events.isPending(checkPort(port));
    }

    private static int checkPort(int port) {
        if (port < 0 || port >= EventPage.MAX_PORTS) throw new IllegalArgumentException("port " + port);
        return port;
    }

    @Override
    public synchronized void setEventHandler(EventHandler handler, Delivery delivery) {
        if (defaultHandler != null) throw new IllegalStateException("event handler already set");
        defaultHandler = handler;
        startLoop(delivery);
    }

    @Override
    public synchronized void onEvent(int port, EventHandler handler) {
        checkPort(port);
        if (handler == null) {
            portHandlers.remove(port);
        } else {
            portHandlers.put(port, handler);
        }
        startLoop(Delivery.BLOCKING);
    }

    private void startLoop(Delivery delivery) {
        if (loop != null || closed) return;
        EventLoop l = new EventLoop(events, this::dispatch, delivery, "dom" + layout.domid() + "-events", clock);
        try {
            l.start();
        } catch (OutOfMemoryError e) {
            // The machine's or the process's thread limit: this domain cannot run, the host goes on.
            throw new IllegalStateException("cannot start dom" + layout.domid() + "'s event thread (EAGAIN): "
                    + e.getMessage());
        }
        loop = l;
    }

    private void dispatch(int port) {
        EventHandler h = portHandlers.get(port);
        if (h == null) h = defaultHandler;
        if (h != null) h.onEvent(port);
    }

    @Override
    public void shutdown(ShutdownReason reason) throws HypercallException {
        enter();
        control.shutdownSelf(reason);
    }

    /** The entry of every hypercall: a thread of a paused domain waits here (see the class comment). */
    private void enter() {
        if (events.runstate() == EventPage.PAUSED) events.awaitNotPaused();
    }

    @Override
    public void runOnVcpu(Runnable task) {
        enter();
        events.addBusy(1);
        clock.enter();
        try {
            task.run();
        } finally {
            clock.leave();
            events.addBusy(-1);
        }
    }

    @Override
    public long cpuNanos() {
        return clock.nanos();
    }

    @Override
    public int suspend() throws HypercallException {
        control.shutdownSelf(ShutdownReason.SUSPEND);
        // The hypervisor published SUSPENDED before the call returned; wait on our own event page for the resume.
        while (true) {
            int rs = events.runstate();
            if (rs == EventPage.DEAD) throw new HypercallException(Errno.ESRCH, "domain destroyed while suspended");
            if (rs != EventPage.SUSPENDED) return events.suspendResult();
            events.awaitRunstateChange(rs);
        }
    }

    @Override
    public DomainControl domainControl() {
        return domainControl;
    }

    private MemorySegment mapPage(MapReply reply) {
        return SharedFile.map(reply.file(), MapMode.READ_WRITE, (long) reply.frame() * GrantEntry.PAGE_SIZE,
                GrantEntry.PAGE_SIZE, arena);
    }

    @Override
    public void close() {
        EventLoop l;
        synchronized (this) {
            if (closed) return;
            closed = true;
            l = loop;
        }
        if (l != null) l.stop();
        for (Arena a : mappings.values()) {
            if (closeWhenReleased(a)) MapCount.release();
        }
        mappings.clear();
        control.close();
        synchronized (this) {
            boolean unused = closeWhenReleased(arena);
        }
        if (trackFd >= 0) org.jxen.libc.Uffd.close(trackFd);
    }

    /**
     * Closes an arena, giving threads still inside a short access (a futex wake on a page of it, a copy) time to
     * leave: a shared arena cannot close while acquired. One that stays busy is left open and reported; its
     * files are already unlinked, so the memory goes when the process exits.
     */
    private static boolean closeWhenReleased(Arena a) {
        for (int attempt = 0; ; attempt++) {
            try {
                a.close();
                return true;
            } catch (IllegalStateException busy) {
                if (attempt == 200) {
                    System.getLogger("jxen.hypervisor").log(System.Logger.Level.WARNING,
                            "a domain mapping is still in use at close; leaving it mapped: " + busy.getMessage());
                    return false;
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }
}
