package org.jxen.hypervisor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The hypervisor: the domain table and every control-plane hypercall, each taking the calling domain's id (what
 * Xen reads from {@code current}). One lock orders all control-plane operations; the data plane (pending bits,
 * grant entries written by granters, page contents) never takes it.
 *
 * <p>Dom0 exists from construction, privileged and running. {@link #connect} gives a domain's in-process view;
 * {@code org.jxen.hypervisor.process.HypervisorService} gives guest processes the same calls over a socket.
 */
public final class Hypervisor implements AutoCloseable {
    public static final int DOMID_FIRST_RESERVED = 0x7FF0;
    public static final int MAX_MEMORY_PAGES = 1 << 18;
    public static final int MAX_VCPUS = 128;
    /**
     * Event-channel ports of a domain on the FIFO ABI, which every jxen kernel and dom0 switch to at boot, port 0
     * (never handed out) included; a domain on the 2-level ABI has {@link EventPage#MAX_PORTS}.
     */
    public static final int MAX_PORTS = EventWord.NR_CHANNELS;
    private static final int MAX_PAUSE_COUNT = 255;

    private final Path dir;
    private final RunDir runDir;
    private final TreeMap<Integer, Domain> domains = new TreeMap<>();
    private int rover;
    /** Ids taken by creations whose files are being made outside the lock. */
    private final java.util.BitSet building = new java.util.BitSet();
    private int nextSerial = 1;
    private boolean closed;

    public Hypervisor(Path dir, int dom0Pages) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.dir = dir;
        this.runDir = new RunDir(SharedMemoryDir.create(dir));
        Domain dom0 = new Domain(runDir, 0, nextSerial++, dom0Pages, 1);
        dom0.state = DomainState.RUNNING;
        dom0.pauseCount = 0;
        dom0.publishRunstate();
        domains.put(0, dom0);
    }

    /** Names of the domains' shared files (memory, grant table, events), which live on tmpfs. */
    public RunDir runDir() {
        return runDir;
    }

    /**
     * Deletes a hypervisor's shared-memory directory (a {@link #runDir()}) with its files when it is on tmpfs and
     * the hypervisor's process no longer runs; anything else is left alone. Files still mapped stay valid for
     * their mappers. Returns whether it deleted the directory.
     */
    public static boolean deleteOrphanedSharedMemory(Path dir) {
        return SharedMemoryDir.deleteOrphan(dir);
    }

    /**
     * Whether {@code dir} is a hypervisor's directory on tmpfs, as named by a run directory's {@code shm} link;
     * then the pid of the process that created it (which may have ended), else -1.
     */
    public static long sharedMemoryOwner(Path dir) {
        Path name = dir.getFileName();
        if (name == null || !SharedMemoryDir.TMPFS.equals(dir.getParent())) return -1;
        return SharedMemoryDir.ownerPid(name.toString());
    }

    /** The run directory this hypervisor was started in (its service socket goes there). */
    public Path directory() {
        return dir;
    }

    /**
     * The in-process view of a domain: its kernel's hypercalls as direct calls. A guest's event thread is a
     * virtual thread (a host may run thousands of them; dom0's, which carries every backend, stays a platform
     * thread).
     */
    public Hypercalls connect(int domid) throws HypercallException {
        synchronized (this) {
            live(domid);
        }
        return new DomainHypercalls(controlPlane(domid), runDir, domid != 0);
    }

    /**
     * The control plane of a domain, checked against its id on every call: what a transport (the guest-process
     * service) dispatches authenticated requests to.
     */
    public ControlPlane controlPlane(int domid) throws HypercallException {
        return new LocalControlPlane(this, domid);
    }

    private Domain live(int domid) throws HypercallException {
        Domain d = domains.get(domid);
        if (d == null || !d.alive()) throw new HypercallException(Errno.ESRCH, "no domain " + domid);
        return d;
    }

    private Domain privileged(int caller) throws HypercallException {
        Domain c = live(caller);
        if (!c.privileged) throw new HypercallException(Errno.EPERM, "d" + caller + " is not privileged");
        return c;
    }

    private Domain lookup(int domid) {
        return domains.get(domid);
    }

    /** Resolves DOMID_SELF and, for another domain, demands privilege, as XSM's default policy does. */
    private Domain target(int caller, int dom) throws HypercallException {
        if (dom == Hypercalls.DOMID_SELF || dom == caller) return live(caller);
        privileged(caller);
        return live(dom);
    }

    /**
     * A domain's whole memory as the hypervisor maps it: what the toolstack, in the hypervisor's process, reads
     * at a save and fills at a restore (Xen's toolstack maps the pages with privileged foreign maps). Valid until
     * the domain is destroyed. ESRCH for a domain that does not exist.
     */
    public synchronized java.lang.foreign.MemorySegment domainMemory(int domid) throws HypercallException {
        return live(domid).memory.segment();
    }

    /** The file of a domain's memory (tmpfs, sparse: pages never written are holes). */
    public synchronized Path domainMemoryFile(int domid) throws HypercallException {
        return live(domid).memory.path();
    }

    /**
     * The kernel of {@code domid} mapped its memory at {@code address} in process {@code pid}; {@code tracked}:
     * it registered the mapping for asynchronous write protection (what {@link #enableLogDirty} needs).
     */
    public synchronized void memoryMapped(int domid, long pid, long address, boolean tracked) throws HypercallException {
        Domain d = live(domid);
        d.mapperPid = pid;
        d.mapperAddress = address;
        d.mapperTracked = tracked;
        d.mapperTracker = null;
    }

    /** As {@link #memoryMapped}, by a kernel in this process whose tracking starts with log-dirty mode. */
    synchronized void memoryMappedLazily(int domid, long address, java.util.function.IntSupplier tracker)
            throws HypercallException {
        memoryMapped(domid, ProcessHandle.current().pid(), address, false);
        live(domid).mapperTracker = tracker;
    }

    /** XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY for the toolstack (dom0, in the hypervisor's process). */
    public synchronized void enableLogDirty(int domid) throws HypercallException, IOException {
        Domain d = live(domid);
        if (d.logDirty != null) throw new HypercallException(Errno.EBUSY, "domain " + domid + " is already in log-dirty mode");
        if (!d.mapperTracked && d.mapperTracker != null) {
            int fd = d.mapperTracker.getAsInt();
            if (fd < 0) {
                throw new IOException("domain " + domid + "'s memory mapping has no write tracking (userfaultfd refused, errno "
                        + -fd + ")");
            }
            d.mapperTracked = true;
        }
        d.logDirty = LogDirty.enable(d);
    }

    /** XEN_DOMCTL_SHADOW_OP_CLEAN: the frames written since the last call; tracking goes on. */
    public synchronized java.util.BitSet cleanDirty(int domid) throws HypercallException, IOException {
        Domain d = live(domid);
        if (d.logDirty == null) throw new HypercallException(Errno.EINVAL, "domain " + domid + " is not in log-dirty mode");
        return d.logDirty.clean();
    }

    /** XEN_DOMCTL_SHADOW_OP_OFF; nothing for a domain gone or not in log-dirty mode. */
    public synchronized void disableLogDirty(int domid) {
        Domain d = domains.get(domid);
        if (d == null || d.logDirty == null) return;
        d.logDirty.close();
        d.logDirty = null;
    }

    synchronized DomainLayout layout(int domid) throws HypercallException {
        return live(domid).layout();
    }

    synchronized int allocUnbound(int caller, int dom, int remoteDom) throws HypercallException {
        Domain d = target(caller, dom);
        return ChannelOps.allocUnbound(d, remoteDom == Hypercalls.DOMID_SELF ? d.id : remoteDom);
    }

    synchronized int bindInterdomain(int caller, int remoteDom, int remotePort) throws HypercallException {
        Domain local = live(caller);
        Domain remote = live(remoteDom == Hypercalls.DOMID_SELF ? caller : remoteDom);
        return ChannelOps.bindInterdomain(local, remote, remotePort);
    }

    synchronized int bindVirq(int caller, int virq) throws HypercallException {
        return ChannelOps.bindVirq(live(caller), virq);
    }

    synchronized void closePort(int caller, int port) throws HypercallException {
        ChannelOps.close(live(caller), port, this::lookup);
    }

    synchronized ChannelStatus status(int caller, int dom, int port) throws HypercallException {
        return ChannelOps.status(target(caller, dom), port);
    }

    synchronized int initControl(int caller, long gfn, int offset, int vcpu) throws HypercallException {
        return FifoOps.initControl(live(caller), gfn, offset, vcpu);
    }

    synchronized void expandArray(int caller, long gfn) throws HypercallException {
        FifoOps.expandArray(live(caller), gfn);
    }

    synchronized void setPriority(int caller, int port, int priority) throws HypercallException {
        FifoOps.setPriority(live(caller), port, priority);
    }

    /** The domain builder's unpopulated frames: only of a domain that has not run (paused since its creation). */
    synchronized void unpopulate(int caller, int domid, int first, int count) throws HypercallException {
        Domain d = controlled(caller, domid);
        if (d.state != DomainState.PAUSED || d.everRan) {
            throw new HypercallException(Errno.EBUSY, "d" + domid + " has run: only its balloon gives frames back now");
        }
        MemoryOps.unpopulate(d, first, count);
    }

    synchronized int decreaseReservation(int caller, int[] frames) throws HypercallException {
        return MemoryOps.decrease(live(caller), frames);
    }

    synchronized int populatePhysmap(int caller, int[] frames) throws HypercallException {
        return MemoryOps.populate(live(caller), frames);
    }

    synchronized int vcpuOp(int caller, int cmd, int vcpu) throws HypercallException {
        Domain d = live(caller);
        if (vcpu < 0 || vcpu >= d.vcpus) throw new HypercallException(Errno.ENOENT, "d" + caller + " has no vCPU " + vcpu);
        switch (cmd) {
            case Hypercalls.VCPUOP_IS_UP -> {
                return d.vcpusUp.get(vcpu) ? 1 : 0;
            }
            case Hypercalls.VCPUOP_UP -> d.vcpusUp.set(vcpu);
            case Hypercalls.VCPUOP_DOWN -> {
                if (vcpu == 0) throw new HypercallException(Errno.EINVAL, "vCPU 0 runs the domain's code: it stays up");
                d.vcpusUp.clear(vcpu);
            }
            default -> throw new HypercallException(Errno.ENOSYS, "VCPUOP " + cmd);
        }
        return 0;
    }

    /** EVTCHNOP_reset: of the caller itself, or by dom0 of a domain it has paused (Xen's rule). */
    synchronized void resetChannels(int caller, int dom) throws HypercallException {
        Domain d = target(caller, dom);
        if (d.id != caller && d.pauseCount == 0) {
            throw new HypercallException(Errno.EINVAL, "d" + d.id + " must be paused for a reset");
        }
        FifoOps.reset(d, this::lookup);
    }

    synchronized MapReply mapGrant(int caller, int granter, int ref, boolean readonly) throws GrantException {
        Domain mapper = domains.get(caller);
        if (mapper == null || !mapper.alive()) throw new GrantException(GrantStatus.GENERAL_ERROR, "caller gone");
        return GrantOps.map(mapper, domains.get(granter), ref, readonly);
    }

    synchronized void unmapGrant(int caller, int handle) throws GrantException {
        Domain mapper = domains.get(caller);
        if (mapper == null) throw new GrantException(GrantStatus.BAD_HANDLE, "caller gone");
        GrantOps.unmap(mapper, handle);
    }

    /** GNTTABOP_copy: one lock acquisition for the whole batch, one GNTST per op into {@code status}. */
    synchronized void grantCopy(int caller, int[] ops, int count, int[] status) throws HypercallException {
        if (count < 0 || (long) count * CopyBatch.INTS > ops.length || count > status.length) {
            throw new HypercallException(Errno.EINVAL, count + " copy ops");
        }
        GrantOps.copy(live(caller), ops, count, status, domains::get);
    }

    synchronized int setGrantFrames(int caller, int frames) throws HypercallException {
        Domain d = live(caller);
        if (frames < 1 || frames > GrantTable.MAX_FRAMES) {
            throw new HypercallException(Errno.EINVAL, frames + " grant frames (max " + GrantTable.MAX_FRAMES + ")");
        }
        if (frames > d.maxGrantFrames) {
            throw new HypercallException(Errno.ENOSPC, "max_grant_frames reached: " + d.maxGrantFrames + " frames, "
                    + d.maxGrantFrames * GrantEntry.ENTRIES_PER_FRAME + " entries");
        }
        // Like GNTTABOP_setup_table, a table only grows; its new frames get their pages first (gnttab_grow_table's
        // allocation, which fails the call, not a later touch of the page).
        if (frames > d.grantFrames) {
            try {
                d.grantFile.allocate((long) frames * GrantEntry.PAGE_SIZE);
            } catch (java.io.IOException e) {
                throw new HypercallException(Errno.ENOMEM, "no pages for " + frames + " grant frames: " + e.getMessage());
            }
        }
        d.grantFrames = Math.max(d.grantFrames, frames);
        d.growPinCounts();
        return d.grantFrames;
    }

    synchronized void shutdownSelf(int caller, ShutdownReason reason) throws HypercallException {
        domainShutdown(live(caller), reason);
    }

    /**
     * The id is taken under the lock, the domain's files are made outside it (three files created, sized and
     * mapped: most of a creation's time, during which every other domain's binds and maps would wait), and the
     * domain is published under the lock again.
     */
    int createDomain(int caller, int memoryPages, int vcpus) throws HypercallException {
        int domid;
        int serial;
        synchronized (this) {
            privileged(caller);
            if (memoryPages < 2 || memoryPages > MAX_MEMORY_PAGES) {
                throw new HypercallException(Errno.EINVAL, memoryPages + " pages");
            }
            if (vcpus < 1 || vcpus > MAX_VCPUS) throw new HypercallException(Errno.EINVAL, vcpus + " vcpus");
            if (closed) throw new HypercallException(Errno.ESRCH, "the hypervisor is closed");
            domid = freeDomid();
            serial = nextSerial++;
            building.set(domid);
        }
        Domain d = null;
        try {
            d = new Domain(runDir, domid, serial, memoryPages, vcpus);
            // The domain builder's work: console and xenstore pages granted to dom0, their ports offered to dom0.
            DomainBuilder.seed(d);
        } finally {
            synchronized (this) {
                building.clear(domid);
                if (d != null && !closed) {
                    domains.put(domid, d);
                    d.xenstorePort = ChannelOps.allocUnbound(d, 0);
                    d.consolePort = ChannelOps.allocUnbound(d, 0);
                } else if (d != null) {
                    kill(d);
                    d = null;
                }
            }
        }
        if (d == null) throw new HypercallException(Errno.ESRCH, "the hypervisor is closed");
        return domid;
    }

    /** Xen's rover: the next id after the last one handed out, skipping ids in use, wrapping below the reserved. */
    private int freeDomid() throws HypercallException {
        int dom = rover;
        for (int i = 0; i < DOMID_FIRST_RESERVED; i++) {
            dom++;
            if (dom >= DOMID_FIRST_RESERVED) dom = 1;
            if (!domains.containsKey(dom) && !building.get(dom)) {
                rover = dom;
                return dom;
            }
        }
        throw new HypercallException(Errno.ENOMEM, "no free domain id");
    }

    /** Pretends {@code last} was the last id handed out, to reach the wrap-around without 32k creations. */
    synchronized void setRover(int last) {
        rover = last;
    }

    private Domain controlled(int caller, int domid) throws HypercallException {
        privileged(caller);
        Domain d = live(domid);
        if (d.id == 0 || d.id == caller) throw new HypercallException(Errno.EINVAL, "cannot control d" + domid);
        return d;
    }

    synchronized void pause(int caller, int domid) throws HypercallException {
        Domain d = controlled(caller, domid);
        if (d.pauseCount >= MAX_PAUSE_COUNT) throw new HypercallException(Errno.EUSERS, "pause count");
        d.pauseCount++;
        if (d.state == DomainState.RUNNING) d.state = DomainState.PAUSED;
        d.publishRunstate();
    }

    synchronized void unpause(int caller, int domid) throws HypercallException {
        Domain d = controlled(caller, domid);
        if (d.pauseCount == 0) throw new HypercallException(Errno.EINVAL, "d" + domid + " is not paused");
        if (--d.pauseCount == 0 && d.state == DomainState.PAUSED) {
            d.state = DomainState.RUNNING;
            d.everRan = true;
        }
        d.publishRunstate();
    }

    /**
     * XEN_DOMCTL_resumedomain after a suspend: the domain runs again and its suspend hypercall returns 1 when
     * {@code fast} (xc_domain_resume's cooperative resume: "suspend cancelled", connections kept) or 0 (resumed as
     * in a new domain). EINVAL unless the domain is shut down for suspend.
     */
    synchronized void resume(int caller, int domid, boolean fast) throws HypercallException {
        Domain d = controlled(caller, domid);
        if (d.state != DomainState.SHUTDOWN || d.shutdownReason != ShutdownReason.SUSPEND) {
            throw new HypercallException(Errno.EINVAL, "d" + domid + " is not suspended");
        }
        d.shutdownReason = null;
        d.state = d.pauseCount > 0 ? DomainState.PAUSED : DomainState.RUNNING;
        d.events.setSuspendResult(fast ? 1 : 0);
        d.publishRunstate();
    }

    synchronized void setGrantLimits(int caller, int domid, int grantFrames, int maptrackFrames) throws HypercallException {
        privileged(caller);
        Domain d = live(domid);
        if (grantFrames < 1 || grantFrames > GrantTable.MAX_FRAMES || maptrackFrames < 0
                || maptrackFrames > Integer.MAX_VALUE / GrantTable.MAPTRACK_PER_FRAME) {
            throw new HypercallException(Errno.EINVAL, "grant limits " + grantFrames + "/" + maptrackFrames
                    + " (grant frames 1.." + GrantTable.MAX_FRAMES + ")");
        }
        if (d.grantFrames > grantFrames || d.maptrack.size() > (long) maptrackFrames * GrantTable.MAPTRACK_PER_FRAME) {
            throw new HypercallException(Errno.EBUSY, "d" + domid + " already uses more than " + grantFrames
                    + " grant frames or " + maptrackFrames + " maptrack frames");
        }
        d.maxGrantFrames = grantFrames;
        d.maxMaptrackFrames = maptrackFrames;
    }

    synchronized void shutdown(int caller, int domid, ShutdownReason reason) throws HypercallException {
        domainShutdown(controlled(caller, domid), reason);
    }

    private void domainShutdown(Domain d, ShutdownReason reason) {
        // Xen keeps the first reason: a crash during a poweroff stays a poweroff.
        if (d.state == DomainState.SHUTDOWN || d.state == DomainState.DYING) return;
        d.state = DomainState.SHUTDOWN;
        d.shutdownReason = reason;
        d.publishRunstate();
        raiseDomExc();
    }

    private void raiseDomExc() {
        Domain dom0 = domains.get(0);
        if (dom0 != null && dom0.domExcPort != 0) dom0.raise(dom0.domExcPort);
    }

    /**
     * The domain leaves the table under the lock; its files are unmapped and deleted after (closing a shared
     * mapping is a handshake with every thread of the process, which other domains' hypercalls need not wait for).
     */
    void destroy(int caller, int domid) throws HypercallException {
        Domain d;
        synchronized (this) {
            d = controlled(caller, domid);
            unlink(d);
            raiseDomExc();
        }
        releaseFiles(d);
    }

    private void kill(Domain d) {
        unlink(d);
        releaseFiles(d);
    }

    private void releaseFiles(Domain d) {
        d.memory.release();
        d.grantFile.release();
        d.eventFile.release();
    }

    private void unlink(Domain d) {
        if (d.logDirty != null) {
            d.logDirty.close();
            d.logDirty = null;
        }
        d.state = DomainState.DYING;
        d.publishRunstate();
        GrantOps.unmapAll(d);
        ChannelOps.closeAll(d, this::lookup);
        domains.remove(d.id);
    }

    synchronized DomainInfo info(int caller, int domid) throws HypercallException {
        privileged(caller);
        Domain d = domains.get(domid);
        if (d == null) throw new HypercallException(Errno.ESRCH, "no domain " + domid);
        return d.info();
    }

    synchronized List<DomainInfo> list(int caller) throws HypercallException {
        privileged(caller);
        List<DomainInfo> all = new ArrayList<>();
        for (Domain d : domains.values()) all.add(d.info());
        return all;
    }

    synchronized MapReply mapForeign(int caller, int domid, int frame) throws HypercallException {
        privileged(caller);
        Domain d = live(domid);
        if (frame < 0 || frame >= d.pages) throw new HypercallException(Errno.EINVAL, "frame " + frame);
        if (d.released.get(frame)) throw new HypercallException(Errno.EINVAL, "frame " + frame + " has no page (given back)");
        // Writable and never unmapped as far as the hypervisor knows: dirty in every log-dirty look from now on.
        d.writableMaps.putIfAbsent(frame, 1);
        return new MapReply(-1, d.memory.path(), frame);
    }

    /**
     * The process running domain {@code domid} (instance {@code serial}) has exited: unless it shut down
     * cleanly it crashed, and the mappings it held die with it, so the hypervisor releases them.
     */
    public synchronized void processGone(int domid, int serial) {
        Domain d = domains.get(domid);
        if (d == null || d.serial != serial) return;
        domainShutdown(d, ShutdownReason.CRASH);
        GrantOps.unmapAll(d);
    }

    /** The serial a live domain was created with; names its files. */
    public synchronized int serial(int domid) throws HypercallException {
        return live(domid).serial;
    }

    /** Destroys every domain, dom0 last, and with them every file this hypervisor created. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Domain d : new ArrayList<>(domains.descendingMap().values())) kill(d);
        // Files a process still maps stay valid for it after the unlink, as on any file system.
        SharedMemoryDir.delete(dir, runDir.dir());
    }
}
