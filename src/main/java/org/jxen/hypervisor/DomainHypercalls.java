package org.jxen.hypervisor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel.MapMode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;

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
    /** This domain's own FIFO queues: its unmask re-links here, its event thread consumes them. */
    private final Peer self;
    private final FifoConsumer consumer;
    private final PortTable ports;
    /** Grant mappings by handle: the arena of each page we mapped, or {@link #HYPERVISORS}. */
    private final Map<Integer, Arena> mappings = new ConcurrentHashMap<>();
    /** A grant mapping that is the hypervisor's page (in its process): nothing of ours to close. */
    private static final Arena HYPERVISORS = Arena.global();
    /**
     * Domains our ports are bound to, by serial: their event page and FIFO state, mapped on the first send and
     * unmapped once they are dead (see {@link #pruneDeadPeers}).
     */
    private final Map<Integer, Peer> peers = new ConcurrentHashMap<>();
    /** How many peers may be mapped before the next look for dead ones (doubles with the live ones). */
    private int pruneAt = PRUNE_MIN;
    private static final int PRUNE_MIN = 16;
    /** Guards the FIFO frames below and the growth of the event array. */
    private final Object fifoLock = new Object();
    /** Where event-array pages come from (Linux's page allocator); null until {@link #useFifo}. */
    private IntSupplier fifoFrames;
    /** Frames given to the FIFO ABI (control block, array pages), kept for a later init after a reset. */
    private final List<Integer> fifoInUse = new ArrayList<>();
    private final ArrayDeque<Integer> fifoSpare = new ArrayDeque<>();
    private final DomainControl domainControl;
    private final Map<Integer, EventHandler> portHandlers = new ConcurrentHashMap<>();
    private volatile EventHandler defaultHandler;
    private EventLoop loop;
    private volatile boolean closed;
    private final VcpuClock clock = new VcpuClock();
    private final boolean virtualEvents;
    /** The mappings in {@link #arena}, each one of the process's {@link MapCount} budget. */
    private final java.util.concurrent.atomic.AtomicInteger viewMappings = new java.util.concurrent.atomic.AtomicInteger();

    public DomainHypercalls(ControlPlane control, RunDir runDir) {
        this(control, runDir, false);
    }

    /**
     * @param virtualEvents whether the event thread is a virtual one ({@link FutexPoller}): for the many domains
     *        of one process, as a host's in-process guests are
     */
    public DomainHypercalls(ControlPlane control, RunDir runDir, boolean virtualEvents) {
        this.virtualEvents = virtualEvents;
        this.control = control;
        this.runDir = runDir;
        this.layout = control.layout();
        int id = layout.domid();
        int serial = layout.serial();
        try {
            this.memory = mapInView(runDir.memory(id, serial), MapMode.READ_WRITE, 0,
                    (long) layout.memoryPages() * GrantEntry.PAGE_SIZE);
            this.grantTable = new GrantTable(mapInView(runDir.grantTable(id, serial), MapMode.READ_WRITE, 0,
                    GrantTable.FILE_SIZE), control);
            MemorySegment shared = mapInView(runDir.events(id, serial), MapMode.READ_WRITE, 0, PortTable.OFFSET);
            this.events = new EventPage(shared.asSlice(0, EventPage.SIZE), runDir.events(id, serial));
            MemorySegment mem = memory;
            this.self = new Peer(events, new FifoArea(shared.asSlice(EventPage.SIZE, FifoArea.SIZE)),
                    gfn -> mem.asSlice((long) gfn * GrantEntry.PAGE_SIZE, GrantEntry.PAGE_SIZE));
            this.consumer = new FifoConsumer(self.fifo);
            // Read-only: only the hypervisor may say who a port is bound to.
            this.ports = new PortTable(mapInView(runDir.events(id, serial), MapMode.READ_ONLY, PortTable.OFFSET,
                    PortTable.SIZE));
        } catch (RuntimeException e) {
            // Nobody will close a view that was never made: what it mapped goes back now.
            arena.close();
            MapCount.release(viewMappings.getAndSet(0));
            throw e;
        }
        this.domainControl = new ControlPlaneDomainControl(control, this::mapPage);
        // The MMU's part of log-dirty mode: the mapping the kernel writes through can be write-tracked
        // (LogDirty); nothing is protected until the toolstack enables log-dirty mode for a live migration.
        if (id != 0) {
            try {
                if (control instanceof LocalControlPlane local) {
                    // In the hypervisor's process: the tracker (a descriptor) is made when a migration asks.
                    local.memoryMappedLazily(memory.address(), this::startTracking);
                } else {
                    control.memoryMapped(memory.address(), startTracking() >= 0);
                }
            } catch (HypercallException e) {
                System.getLogger("jxen.hypervisor").log(System.Logger.Level.DEBUG, "d" + id + " memoryMapped: " + e.getMessage());
            }
        }
    }

    /** The userfaultfd tracking writes to {@link #memory}, or -errno when it could not be had; -1 until asked. */
    private int trackFd = -1;

    private final Object trackLock = new Object();

    /**
     * Registers {@link #memory} for write tracking once: the descriptor, or -errno. Called under the hypervisor's
     * lock, so it takes only its own.
     */
    private int startTracking() {
        synchronized (trackLock) {
            if (trackFd >= 0 || trackClosed) return trackFd;
            trackFd = org.jxen.libc.Uffd.registerWriteProtectAsync(memory);
            return trackFd;
        }
    }

    private boolean trackClosed;

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
        if (reply.page() != null) {
            // In the hypervisor's process: its mapping of the granter's memory, held for us until the unmap. No
            // mapping, descriptor or arena of our own, so no munmap and no JVM-wide handshake at the unmap.
            mappings.put(reply.handle(), HYPERVISORS);
            return new GrantMapping(reply.handle(), granter, ref, readonly,
                    readonly ? reply.page().asReadOnly() : reply.page());
        }
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
        if (pageArena != null && pageArena != HYPERVISORS) {
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
        return withWord(control.allocUnbound(DOMID_SELF, remoteDom));
    }

    @Override
    public int bindInterdomain(int remoteDom, int remotePort) throws HypercallException {
        enter();
        return withWord(control.bindInterdomain(remoteDom, remotePort));
    }

    @Override
    public int bindVirq(int virq) throws HypercallException {
        enter();
        return withWord(control.bindVirq(virq));
    }

    /**
     * A port this domain just got, with an event word on the FIFO ABI: Linux's evtchn_fifo_setup expands the
     * event array when a port lies beyond it. Failing that, the port is closed again and the call fails.
     */
    private int withWord(int port) throws HypercallException {
        if (!self.fifo.active()) return port;
        try {
            ensureWord(port);
        } catch (HypercallException e) {
            control.closePort(port);
            throw e;
        }
        return port;
    }

    /** Adds event-array pages until {@code port} has a word (only after {@link #useFifo}, which gives the pages). */
    private void ensureWord(int port) throws HypercallException {
        synchronized (fifoLock) {
            FifoArea area = self.fifo.area();
            while (fifoFrames != null && self.fifo.active() && area.arrayPages() * EventWord.WORDS_PER_PAGE <= port) {
                int gfn = fifoFrame();
                try {
                    control.expandArray(gfn);
                } catch (HypercallException e) {
                    fifoSpare.push(gfn);
                    throw e;
                }
                fifoInUse.add(gfn);
            }
        }
    }

    /** A zeroed frame for the FIFO ABI: a spare one from before a reset, else a new one from the kernel. */
    private int fifoFrame() throws HypercallException {
        Integer spare = fifoSpare.poll();
        int gfn;
        if (spare != null) {
            gfn = spare;
        } else {
            try {
                gfn = fifoFrames.getAsInt();
            } catch (RuntimeException e) {
                throw new HypercallException(Errno.ENOMEM, "no page for the event channels: " + e.getMessage());
            }
        }
        // Zero event words: not pending, not masked (a port is unmasked once bound here, see docs/hypervisor.md).
        frame(gfn).fill((byte) 0);
        return gfn;
    }

    @Override
    public int initControl(int controlGfn, int offset, int vcpu) throws HypercallException {
        enter();
        return control.initControl(controlGfn, offset, vcpu);
    }

    @Override
    public void expandArray(int arrayGfn) throws HypercallException {
        enter();
        control.expandArray(arrayGfn);
    }

    @Override
    public void setPriority(int port, int priority) throws HypercallException {
        enter();
        control.setPriority(port, priority);
    }

    @Override
    public int decreaseReservation(int[] frames) throws HypercallException {
        enter();
        return control.decreaseReservation(frames);
    }

    @Override
    public int populatePhysmap(int[] frames) throws HypercallException {
        enter();
        return control.populatePhysmap(frames);
    }

    @Override
    public int vcpuOp(int cmd, int vcpu) throws HypercallException {
        enter();
        return control.vcpuOp(cmd, vcpu);
    }

    @Override
    public void resetChannels() throws HypercallException {
        enter();
        synchronized (fifoLock) {
            control.resetChannels(DOMID_SELF);
            // A send that read the old ABI just before the reset may still touch these pages: they stay the
            // event channels' and serve the next init_control instead of going back to the kernel.
            fifoSpare.addAll(fifoInUse);
            fifoInUse.clear();
        }
    }

    @Override
    public int useFifo(IntSupplier frames) throws HypercallException {
        enter();
        synchronized (fifoLock) {
            if (self.fifo.active()) throw new HypercallException(Errno.EEXIST, "already on the FIFO ABI");
            fifoFrames = frames;
            int gfn = fifoFrame();
            int bits;
            try {
                bits = control.initControl(gfn, 0, 0);
            } catch (HypercallException e) {
                fifoSpare.push(gfn);
                fifoFrames = null;
                throw e;
            }
            fifoInUse.add(gfn);
            // Words for the ports the domain had before the switch (its xenstore and console ports, at least).
            ensureWord(Math.max(0, self.fifo.area().portsEnd() - 1));
            return bits;
        }
    }

    @Override
    public int maxChannels() {
        return self.fifo.active() ? EventWord.NR_CHANNELS : EventPage.MAX_PORTS;
    }

    @Override
    public void closePort(int port) throws HypercallException {
        enter();
        control.closePort(port);
    }

    @Override
    public void send(int port) throws HypercallException {
        enter();
        if (port < 0 || port >= PortTable.PORTS) throw new HypercallException(Errno.EINVAL, "port " + port);
        long entry = ports.get(port);
        switch (PortTable.state(entry)) {
            case UNBOUND -> {
                // Xen drops a send on an unbound port silently: the peer has not connected yet.
            }
            case INTERDOMAIN -> {
                int domid = PortTable.remoteDom(entry);
                int serial = (int) PortTable.remoteSerial(entry);
                try {
                    Peer peer = peer(domid, serial);
                    if (peer == null) return;
                    try {
                        peer.raise(PortTable.remotePort(entry));
                    } catch (IllegalStateException unmapped) {
                        // Pruned as dead meanwhile (its arena closed under us): the port was bound when we read it,
                        // so map the peer again if its files are still there (a send to a dead domain changes
                        // nothing for anyone, as on Xen), else there is nobody left to tell.
                        peers.remove(serial, peer);
                        Peer again = peer(domid, serial);
                        if (again != null) again.raise(PortTable.remotePort(entry));
                    }
                } catch (PeerUnreachable e) {
                    throw new HypercallException(e.errno, e.getMessage());
                }
            }
            default -> throw new HypercallException(Errno.EINVAL, "port " + port + " is not interdomain");
        }
    }

    /** The peer's event state; the fast path is one lock-free map lookup, mapping happens once per peer. */
    private Peer peer(int domid, int serial) {
        if (domid == layout.domid() && serial == (layout.serial() & PortTable.SERIAL_MASK)) return self;
        Peer peer = peers.get(serial);
        return peer != null ? peer : mapPeer(domid, serial);
    }

    private synchronized Peer mapPeer(int domid, int serial) {
        if (closed) return null;
        Peer peer = peers.get(serial);
        if (peer == null) {
            if (peers.size() >= pruneAt) pruneDeadPeers();
            Arena peerArena = Arena.ofShared();
            java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();
            MemorySegment shared;
            try {
                shared = mapInto(peerArena, count, runDir.events(domid, serial), MapMode.READ_WRITE, 0, PortTable.OFFSET);
            } catch (java.io.UncheckedIOException e) {
                peerArena.close();
                // The peer was destroyed and its file deleted between the hypervisor's bind and this send.
                if (e.getCause() instanceof java.nio.file.NoSuchFileException) return null;
                throw new PeerUnreachable(e, "d" + domid + "'s event page");
            }
            java.nio.file.Path memoryFile = runDir.memory(domid, serial);
            Map<Integer, MemorySegment> frames = new ConcurrentHashMap<>();
            peer = new Peer(new EventPage(shared.asSlice(0, EventPage.SIZE), runDir.events(domid, serial)),
                    new FifoArea(shared.asSlice(EventPage.SIZE, FifoArea.SIZE)),
                    gfn -> frames.computeIfAbsent(gfn, g -> mapPeerFrame(peerArena, count, memoryFile, g)),
                    peerArena, count);
            peers.put(serial, peer);
        }
        return peer;
    }

    /**
     * Unmaps the peers that are dead (a dead domain never runs again: a restored one is a new domain with a new
     * serial). Otherwise a host's dom0 would keep every guest it ever talked to mapped, the pages of their
     * deleted files with them, until the process ran out of mappings. Run when the map has doubled since the
     * last look, so its cost per new peer stays constant. A peer whose arena a sender is inside right now is
     * kept for the next look.
     */
    private void pruneDeadPeers() {
        for (Map.Entry<Integer, Peer> e : peers.entrySet()) {
            Peer p = e.getValue();
            if (p.events.runstate() != EventPage.DEAD || !peers.remove(e.getKey(), p)) continue;
            try {
                synchronized (p.arena) {
                    p.arena.close();
                    MapCount.release(p.mapCount.getAndSet(0));
                }
            } catch (IllegalStateException busy) {
                peers.putIfAbsent(e.getKey(), p);
            }
        }
        pruneAt = Math.max(PRUNE_MIN, 2 * peers.size());
    }

    /**
     * One page of a peer's memory that holds its event words or control block (the hypervisor named it in the
     * peer's FIFO area), or null if the peer is gone. Pages are kept by gfn, so a re-init on the same pages maps
     * nothing new.
     */
    private MemorySegment mapPeerFrame(Arena peerArena, java.util.concurrent.atomic.AtomicInteger count,
            java.nio.file.Path file, int gfn) {
        // Called with a peer's queue lock held: takes no lock of this view's (a thread holding one may be
        // waiting for that queue lock).
        if (closed) return null;
        try {
            return mapInto(peerArena, count, file, MapMode.READ_WRITE, (long) gfn * GrantEntry.PAGE_SIZE,
                    GrantEntry.PAGE_SIZE);
        } catch (java.io.UncheckedIOException | IllegalStateException goneOrClosed) {
            // Not thrown: this may run inside a queue's lock, midway through linking. The peer's event page,
            // mapped before any of these, is where a process out of descriptors or mappings is reported.
            return null;
        }
    }

    /**
     * This process could not map a peer's event state (out of file descriptors or mappings): the send fails with
     * that errno rather than the event being dropped, so the sender learns why its peer never woke.
     */
    private static final class PeerUnreachable extends RuntimeException {
        final Errno errno;

        PeerUnreachable(java.io.UncheckedIOException e, String what) {
            super("cannot map " + what + ": " + e.getCause().getMessage(), null, false, false);
            this.errno = MapCount.errnoOf(e);
        }
    }

    /** A domain's event page and FIFO state, as a sender (or the domain itself) raises its ports. */
    private static final class Peer {
        final EventPage events;
        final FifoReceiver fifo;
        /** What holds a peer's mappings (null for our own domain: the view's), and how many it holds. */
        final Arena arena;
        final java.util.concurrent.atomic.AtomicInteger mapCount;

        Peer(EventPage events, FifoArea area, java.util.function.IntFunction<MemorySegment> frames) {
            this(events, area, frames, null, null);
        }

        Peer(EventPage events, FifoArea area, java.util.function.IntFunction<MemorySegment> frames, Arena arena,
                java.util.concurrent.atomic.AtomicInteger mapCount) {
            this.arena = arena;
            this.mapCount = mapCount;
            this.events = events;
            this.fifo = new FifoReceiver(events, area) {
                @Override
                protected MemorySegment frame(int gfn) {
                    return frames.apply(gfn);
                }
            };
        }

        /** EVTCHNOP_send's set_pending, in the receiver's ABI. */
        void raise(int port) {
            if (!fifo.raise(port) && port < EventPage.MAX_PORTS) events.raise(port);
        }
    }

    @Override
    public ChannelStatus status(int port) throws HypercallException {
        enter();
        return control.status(DOMID_SELF, port);
    }

    @Override
    public void mask(int port) {
        checkPort(port);
        if (self.fifo.active()) {
            self.fifo.mask(port);
        } else {
            events.mask(port);
        }
    }

    @Override
    public void unmask(int port) {
        checkPort(port);
        if (self.fifo.active()) {
            self.fifo.unmask(port);
        } else {
            events.unmask(port);
        }
    }

    @Override
    public boolean isPending(int port) {
        checkPort(port);
        return self.fifo.active() ? self.fifo.isPending(port) : events.isPending(port);
    }

    private void checkPort(int port) {
        if (port < 0 || port >= maxChannels()) throw new IllegalArgumentException("port " + port);
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
        if (handler != null && self.fifo.active()) {
            // Binding a handler is where Linux sets a port up (bind_evtchn_to_irq): it gets its event word.
            try {
                ensureWord(port);
            } catch (HypercallException e) {
                throw new IllegalStateException("port " + port + ": " + e.getMessage(), e);
            }
        }
        if (handler == null) {
            portHandlers.remove(port);
        } else {
            portHandlers.put(port, handler);
        }
        startLoop(Delivery.BLOCKING);
    }

    private void startLoop(Delivery delivery) {
        if (loop != null || closed) return;
        EventLoop l;
        try {
            l = new EventLoop(events, consumer, this::dispatch, delivery, "dom" + layout.domid() + "-events", clock,
                    virtualEvents);
            l.start();
        } catch (OutOfMemoryError e) {
            // The machine's or the process's thread limit: this domain cannot run, the host goes on.
            throw new IllegalStateException("cannot start dom" + layout.domid() + "'s event thread (EAGAIN): "
                    + e.getMessage());
        } catch (MapCount.Exhausted e) {
            throw new IllegalStateException("cannot start dom" + layout.domid() + "'s event thread (ENOMEM): "
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
        return mapInView(reply.file(), MapMode.READ_WRITE, (long) reply.frame() * GrantEntry.PAGE_SIZE,
                GrantEntry.PAGE_SIZE);
    }

    /**
     * Maps a region of a domain file into this view's arena, one mapping of the process's budget (given back when
     * the view closes): a thousand in-process guests each map their own files and their peers' event state, and
     * those mappings count toward vm.max_map_count like any other. An exhausted budget is an ENOMEM here.
     */
    private MemorySegment mapInView(java.nio.file.Path file, MapMode mode, long offset, long size) {
        return mapInto(arena, viewMappings, file, mode, offset, size);
    }

    /** {@link #mapInView} into another arena of this view's (a peer's), counted in {@code count}. */
    private static MemorySegment mapInto(Arena into, java.util.concurrent.atomic.AtomicInteger count,
            java.nio.file.Path file, MapMode mode, long offset, long size) {
        try {
            MapCount.reserve();
        } catch (MapCount.Exhausted e) {
            throw new java.io.UncheckedIOException(file + ": Cannot allocate memory (" + e.getMessage() + ")",
                    new java.io.IOException(e.getMessage(), e));
        }
        // Under the arena's monitor, as its close and the count's release are (pruneDeadPeers): a map either is
        // counted before the close takes the count, or meets the closed arena and gives its budget back.
        synchronized (into) {
            try {
                MemorySegment m = SharedFile.map(file, mode, offset, size, into);
                count.incrementAndGet();
                return m;
            } catch (RuntimeException e) {
                MapCount.release();
                throw e;
            }
        }
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
            if (a != HYPERVISORS && SharedFile.closeWhenLeft(a, "a domain mapping")) MapCount.release();
        }
        mappings.clear();
        for (Peer p : peers.values()) {
            synchronized (p.arena) {
                if (SharedFile.closeWhenLeft(p.arena, "a peer's mapping")) MapCount.release(p.mapCount.getAndSet(0));
            }
        }
        peers.clear();
        control.close();
        synchronized (this) {
            // An arena left open (still busy) keeps its mappings until the process exits: they stay counted.
            synchronized (arena) {
                if (SharedFile.closeWhenLeft(arena, "a domain mapping")) MapCount.release(viewMappings.getAndSet(0));
            }
        }
        synchronized (trackLock) {
            trackClosed = true;
            if (trackFd >= 0) org.jxen.libc.Uffd.close(trackFd);
            trackFd = -Errno.EBADF.code; // a later enable (a stale tracker) is refused, not handed a closed descriptor
        }
    }
}
