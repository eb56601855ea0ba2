package org.jxen.toolstack;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.HashSet;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.jxen.drivers.blk.back.BlkBack;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.ShutdownReason;
import org.jxen.hypervisor.process.GuestKernel;
import org.jxen.hypervisor.process.HypervisorService;
import org.jxen.xenstore.client.XsClient;
import org.jxen.hypervisor.process.Dom0DeviceService;
import org.jxen.xenstored.GuestRings;
import org.jxen.xenstored.XenStoredServer;
import org.jxen.kernel.CommandLine;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelLog;
import org.jxen.kernel.KernelRole;
import org.jxen.kernel.MemoryMap;
import org.jxen.kernel.ModuleDirectory;

/**
 * A jxen host: the hypervisor (with its service for guest processes), dom0, and xenstored in dom0 serving
 * tools on {@code <run-dir>/xenstored/socket} and guests on their shared rings. Guests boot in this JVM or in
 * their own processes. Dead domains are noticed through VIRQ_DOM_EXC, as dom0 notices them on Xen.
 *
 * <p>Run-dir layout: {@code hv/} (domain memory, grant-table and event files; {@code hv.sock}),
 * {@code xenstored/socket}, {@code xenstored/trace} when tracing, {@code console/guest-<name>.log} (xenconsoled's
 * log of each guest's console ring).
 */
public final class Host implements AutoCloseable {
    private static final Logger LOG = System.getLogger("jxen.host");
    private static final int DOM0_PAGES = 256;
    /** Where in the run dir xenstored listens for tools. */
    public static final String XENSTORED_SOCKET = "xenstored/socket";

    private final Path runDir;
    private final Hypervisor hv;
    private final Hypercalls dom0;
    private final DomainControl ctl;
    private final HypervisorService service;
    /** xenstored in its own process (jxen host), or null when it runs embedded in this JVM (the demo). */
    private final XenstoredProcess xenstored;
    private final XenStoredServer embedded;
    /** gntdev and evtchn for dom0 processes: how xenstored, in its own process, reaches guests' rings. */
    private final Dom0DeviceService devices;
    private final Path xenstoredSocket;
    private final XsClient xs;
    private final Libxl libxl;
    private final Kernel dom0Kernel;
    private final Xenconsoled consoled;
    private final ControlServer control;
    /** --module-path: jars of modules for dom0 and, by default, for guests; and dom0's loader over them. */
    private final List<Path> modulePath;
    private final java.net.URLClassLoader dom0Modules;
    private final Map<Integer, Guest> guests = new HashMap<>();
    /** How many of {@link #guests} have each name, kept with it ({@link #putGuest}, {@link #removeGuest}). */
    private final Map<String, Integer> names = new HashMap<>();
    /** What each guest does when it shuts down (xl.cfg's on_*), and its config for a restart. */
    private final Map<Integer, DomainConfig> configs = new HashMap<>();
    /** xl config-update's config for a guest's next reboot (libxl's "xl" userdata), used once. */
    private final Map<Integer, DomainConfig> updatedConfigs = new HashMap<>();
    /** Completed when a domain shuts down or is destroyed: ends a wait for its boot. */
    private final Map<Integer, CompletableFuture<Void>> ends = new HashMap<>();
    /** Domains still booting for xl create (a death then is create's error, not a case for on_crash). */
    private final Set<Integer> booting = new HashSet<>();
    /** Why an in-process guest still booting panicked (it may not have had a console to say it on); guarded by this. */
    private final Map<Integer, String> bootPanics = new HashMap<>();
    /**
     * Kernels of domains created or restored paused (xl create -p, xl restore -p), started at their first unpause:
     * a paused domain has run nothing, so not even a kernel's first console line reaches its ring. Guarded by this.
     */
    private final Map<Integer, KernelStart> heldKernels = new HashMap<>();

    /** Starts a guest's kernel: its thread, or its process. */
    private interface KernelStart {
        Guest start() throws IOException, HypercallException;
    }

    /** Shut-down domains kept as they are (on_* = preserve, or the old one of a rename-restart). */
    private final Set<Integer> preserved = new HashSet<>();
    /** Domains seen shut down for suspend, until resumed (their "has suspended" line is printed once). */
    private final Set<Integer> suspended = new HashSet<>();
    /**
     * Domains whose shutdown was acted on. xenstored used to tell (its @releaseDomain fired once per shutdown);
     * now that it runs apart, the host remembers itself, so every other domain's change does not act again.
     */
    private final Set<Integer> handledShutdown = new HashSet<>();
    private final DomainRuntime runtime = new DomainRuntime();
    /** Set once close() starts: dom0's VIRQ handler then leaves the teardown to close(). */
    private volatile boolean closing;

    /** A booted guest: its domain id, name, and the thread or process running its kernel. */
    public record Guest(int domid, String name, Thread thread, Process process) {}

    private Host(Path runDir, boolean trace, List<Path> modulePath) throws IOException, HypercallException {
        this(runDir, trace, modulePath, false, false);
    }

    private Host(Path runDir, boolean trace, List<Path> modulePath, boolean xenstoredFsync, boolean embed)
            throws IOException, HypercallException {
        this.runDir = runDir;
        this.modulePath = List.copyOf(modulePath);
        this.dom0Modules = modulePath.isEmpty() ? null : ModuleDirectory.jarLoader(this.modulePath);
        Files.createDirectories(runDir.resolve("xenstored"));
        hv = new Hypervisor(runDir.resolve("hv"), DOM0_PAGES);
        dom0 = hv.connect(0);
        ctl = dom0.domainControl();
        dom0.setEventHandler(port -> {}, Delivery.BLOCKING);
        service = HypervisorService.start(hv);
        devices = Dom0DeviceService.start(dom0, hv.controlPlane(0), runDir.resolve(XenstoredProcess.DEVICES));
        xenstoredSocket = runDir.resolve(XENSTORED_SOCKET);
        if (embed) {
            xenstored = null;
            embedded = XenStoredServer.start(new XenStoredServer.Options(xenstoredSocket,
                    trace ? runDir.resolve("xenstored/trace") : null));
            GuestRings.start(embedded, devices.local(), () -> { });
            xs = new XsClient(embedded.connectInProcess(0));
        } else {
            embedded = null;
            xenstored = XenstoredProcess.start(runDir, xenstoredSocket, trace, xenstoredFsync, this::xenstoredRestarted);
            xs = XsClient.reconnecting(xenstoredSocket);
        }
        // vbd runs scripts/hotplug/block when the installation has it.
        Path block = DiskSpec.blockScript();
        libxl = Libxl.forXenstored(xs, xenstoredSocket, block == null ? Map.of() : Map.of("vbd", block),
                w -> LOG.log(Level.WARNING, w));
        libxl.writeHostNodes();
        int virq = dom0.bindVirq(Hypercalls.VIRQ_DOM_EXC);
        dom0.onEvent(virq, p -> domainsChanged());
        consoled = new Xenconsoled(dom0, runDir.resolve("console"));
        dom0Kernel = new Kernel(dom0, xs, new KernelLog(),
                dom0Modules == null ? ModuleDirectory.classPath() : ModuleDirectory.of(dom0Modules));
        control = ControlServer.start(this, runDir.resolve(ControlServer.SOCKET_NAME));
        dom0Kernel.printk("jxen host: dom0 up; xenstored on " + xenstoredSocket
                + (xenstored != null ? " (pid " + xenstored.pid() + ")" : " (embedded)") + ", toolstack on "
                + control.socketPath());
        // dom0's built-in modules (the standard backends) print their own lines after the host's.
        try {
            dom0Kernel.boot(KernelRole.DOM0, CommandLine.EMPTY);
        } catch (Exception e) {
            control.close();
            throw new IOException("dom0's built-in modules: " + e.getMessage(), e);
        }
    }

    /** The supervisor's line when xenstored died and was started again (or live-updated). */
    private void xenstoredRestarted(String line) {
        LOG.log(Level.WARNING, line);
        System.err.println("jxen host: " + line);
        Kernel k = dom0Kernel;
        if (k != null) k.printk("jxen host: " + line);
    }

    /**
     * A host whose xenstored fsyncs its journal every loop round ({@code jxen host --xenstored-fsync}): what
     * it acknowledged survives a machine crash, not only its own.
     */
    public static Host start(Path runDir, boolean trace, List<Path> modulePath, boolean xenstoredFsync)
            throws IOException, HypercallException {
        return new Host(runDir, trace, modulePath, xenstoredFsync, false);
    }

    /**
     * A host whose xenstored runs inside this JVM (still reaching guests through the dom0 device socket), so a
     * caller can watch its engine: the demo's handshake diagram, the handshake benchmark's thousand guests.
     */
    public static Host startEmbedded(Path runDir, boolean trace, List<Path> modulePath) throws IOException, HypercallException {
        return new Host(runDir, trace, modulePath, false, true);
    }

    private final List<ControlRequests> controlRequests = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Adds requests the control socket serves besides its own (save, restore, migrate: MigrationRequests). */
    public void addControlRequests(ControlRequests requests) {
        controlRequests.add(requests);
    }

    List<ControlRequests> controlRequests() {
        return controlRequests;
    }

    /** JVM options for guest processes started from now on (see HypervisorService.setGuestJvmOptions). */
    public void setGuestJvmOptions(List<String> options) {
        service.setGuestJvmOptions(options);
    }

    public static Host start(Path runDir, boolean trace) throws IOException, HypercallException {
        return new Host(runDir, trace, List.of());
    }

    /**
     * A host whose dom0 also has the modules of {@code modulePath} (jars; {@code jxen host --module-path}), which
     * are as well the kernel image of every guest whose config names no {@code kernel}.
     */
    public static Host start(Path runDir, boolean trace, List<Path> modulePath) throws IOException, HypercallException {
        return new Host(runDir, trace, modulePath);
    }

    /** The jars of {@code --module-path}. */
    public List<Path> modulePath() {
        return modulePath;
    }

    public Path runDir() {
        return runDir;
    }

    /**
     * dom0's grant limits, as Xen's boot parameters {@code gnttab_max_frames} and {@code gnttab_max_maptrack_frames}
     * set them: its backends map every guest's rings with its maptrack handles.
     */
    public void setDom0GrantLimits(int grantFrames, int maptrackFrames) throws HypercallException {
        ctl.setGrantLimits(0, grantFrames, maptrackFrames);
    }

    public Path xenstoredSocket() {
        return xenstoredSocket;
    }

    public Hypervisor hypervisor() {
        return hv;
    }

    public Hypercalls dom0() {
        return dom0;
    }

    /** xenstored's process, under the host's supervision (null for an embedded one). */
    public XenstoredProcess xenstoredProcess() {
        return xenstored;
    }

    /** The embedded xenstored ({@link #startEmbedded}); IllegalStateException when it runs in its own process. */
    public XenStoredServer xenstored() {
        if (embedded == null) throw new IllegalStateException("xenstored runs in its own process (pid " + xenstored.pid() + ")");
        return embedded;
    }

    /** dom0's kernel: its log and the backend modules loaded into it. */
    /**
     * Suspends a guest as libxl's domain_suspend does before a save: asks it ({@code control/shutdown = suspend},
     * an acknowledgement within {@code ackTimeout}), then waits up to 60 s for it to shut down with reason
     * suspend. The guest is then stopped in its suspend hypercall until {@link #resume} or destroy.
     */
    public void suspend(int domid, java.time.Duration ackTimeout)
            throws IOException, DeviceException, InterruptedException, HypercallException {
        libxl.requestSuspend(domid, ackTimeout);
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (true) {
            DomainInfo info = ctl.info(domid);
            if (info.state() == DomainState.SHUTDOWN) {
                if (info.shutdownReason() == ShutdownReason.SUSPEND) return;
                throw new DeviceException("guest shut down with reason " + info.shutdownReason().code
                        + " instead of suspending");
            }
            if (System.nanoTime() > deadline) throw new DeviceException("guest did not suspend within 60 s");
            Thread.sleep(5);
        }
    }

    /**
     * xc_domain_resume then xs_resume_domain: the suspended guest runs again. {@code fast}: its suspend returns
     * "cancelled" and every driver keeps its connection (what a checkpoint or a failed save or migration does);
     * otherwise it resumes as in a new domain and its frontends reconnect.
     */
    public void resume(int domid, boolean fast) throws IOException, HypercallException {
        ctl.resume(domid, fast);
        synchronized (this) {
            suspended.remove(domid);
        }
        xs.resume(domid);
        dom0Kernel.printk("toolstack: domain " + domid + " (" + nameOf(domid) + ") resumed"
                + (fast ? " (suspend cancelled)" : ""));
    }

    /**
     * Tells dom0's blkback that the storage of vbd {@code devid} of {@code domid} was resized (the image file
     * grew): it writes the new size for the frontend (xen_vbd_resize). The new size in sectors.
     */
    public long resizeDisk(int domid, int devid) throws ControlException {
        BlkBack blkback = dom0Kernel.module(BlkBack.class);
        if (blkback == null) throw new ControlException("blkback is not loaded in dom0");
        try {
            return blkback.resize(domid, devid);
        } catch (IOException e) {
            throw new ControlException(e.getMessage());
        }
    }

    public Kernel dom0Kernel() {
        return dom0Kernel;
    }

    /** dom0's own XenStore connection (privileged). */
    public XsClient xenstore() {
        return xs;
    }

    /** libxl over dom0's connection, as the host uses it: libxl's timeouts, warnings to the host's log. */
    public Libxl libxl() {
        return libxl;
    }

    /**
     * Builds and boots a guest as xl does: create the (paused) domain, have libxl write its XenStore home and
     * introduce it to xenstored, unpause it and start its kernel.
     */
    public Guest create(GuestConfig cfg) throws IOException, HypercallException {
        return boot(new DomainConfig(cfg, List.of(), ShutdownAction.OnShutdown.DESTROY_ALL, List.of()), false, false);
    }

    /**
     * @param paused leave the domain paused (xl create -p): its kernel is not started before the first xl unpause
     *        ({@link #heldKernels}), so nothing of the guest's reaches the store, xenconsoled or its backends
     */
    private synchronized Guest boot(DomainConfig dc, boolean awaitBoot, boolean paused) throws IOException,
            HypercallException {
        GuestConfig cfg = dc.guest();
        // xl refuses a second domain of a name: names are how users address domains.
        if (nameTaken(cfg.name())) throw new IllegalArgumentException("domain with name " + cfg.name() + " already exists");
        int domid = ctl.createDomain(cfg.maxmemPages(), cfg.maxvcpus());
        try {
            leaveUnpopulated(domid, cfg);
            if (!dc.grantLimits().equals(DomainConfig.GrantLimits.DEFAULT)) {
                ctl.setGrantLimits(domid, dc.grantLimits().grantFrames(), dc.grantLimits().maptrackFrames());
            }
            DomainInfo info = ctl.info(domid);
            libxl.buildDomain(domid, cfg, info);
            // As xenconsoled does on seeing the new domain: serve its console before it can print.
            consoled.attach(domid, cfg.name(), info.consolePort());
            if (!paused) ctl.unpause(domid);
            runtime.started(domid, cfg);
            Guest g = startOrHold(domid, cfg, paused);
            putGuest(g);
            configs.put(domid, dc);
            ends.put(domid, new CompletableFuture<>());
            if (awaitBoot) booting.add(domid);
            dom0Kernel.printk("toolstack: created domain " + domid + " (" + cfg.name() + ", "
                    + (cfg.ownProcess() ? "own process" : "in-process") + ")");
            return g;
        } catch (IOException | HypercallException | RuntimeException | LinkageError | OutOfMemoryError e) {
            // Out of descriptors or threads part way: the half-built domain goes, the host stays.
            destroyQuietly(domid);
            throw e;
        }
    }

    /**
     * A restore's two steps between the domain's creation and its start ({@link #restore}): {@code load} fills
     * the paused domain's memory (the save stream's pages and kernel record); {@code ready} runs once its devices
     * are built, before it is unpaused (a migration's handshake with the source). Either throwing abandons it.
     */
    public interface Incoming {
        void load(int domid, java.lang.foreign.MemorySegment memory) throws IOException;

        void ready(int domid) throws IOException;
    }

    /**
     * xl restore / migrate-receive (libxl's domain_create_restore): the domain created paused with the config's
     * name and uuid, its store home, console and devices built as at boot (new backends), its memory loaded
     * ({@code incoming.load}; not frames 0 and 1, its fresh console and xenstore rings), then unpaused with its
     * kernel started, which finds the kernel record in its memory and resumes. Anything that fails destroys
     * what was built. {@code paused} (xl restore -p) leaves out the unpause: the kernel starts at the first xl
     * unpause.
     */
    public Guest restore(DomainConfig dc, Incoming incoming, boolean paused) throws IOException, HypercallException,
            DeviceException, InterruptedException {
        GuestConfig cfg = dc.guest();
        int domid;
        synchronized (this) {
            if (nameTaken(cfg.name())) throw new IllegalArgumentException("domain with name " + cfg.name() + " already exists");
            domid = ctl.createDomain(cfg.maxmemPages(), cfg.maxvcpus());
            // Holds the name while the stream comes; replaced by the started guest.
            putGuest(new Guest(domid, cfg.name(), null, null));
        }
        try {
            // The store home, console and devices first, while a live migration's source still runs: the
            // backends wait in InitWait for a frontend that starts only at the unpause. The console and xenstore
            // rings are this new domain's own, empty (the stream does not carry them): the guest's kernel
            // reconnects to both (xs_resume).
            DomainInfo info = ctl.info(domid);
            libxl.buildDomain(domid, cfg, info);
            consoled.attach(domid, cfg.name(), info.consolePort());
            for (DeviceSpec d : dc.devices()) libxl.addDevice(domid, d);
            incoming.load(domid, hv.domainMemory(domid));
            // After the pages: whatever the image had there, the restored domain starts with its config's memory.
            leaveUnpopulated(domid, cfg);
            incoming.ready(domid);
            synchronized (this) {
                if (!paused) ctl.unpause(domid);
                runtime.started(domid, cfg);
                Guest g = startOrHold(domid, cfg, paused);
                putGuest(g);
                configs.put(domid, dc);
                ends.put(domid, new CompletableFuture<>());
                dom0Kernel.printk("toolstack: restored domain " + domid + " (" + cfg.name() + ", "
                        + (cfg.ownProcess() ? "own process" : "in-process") + ")");
                return g;
            }
        } catch (IOException | HypercallException | DeviceException | InterruptedException | RuntimeException e) {
            destroyQuietly(domid);
            throw e;
        }
    }

    /**
     * The domain builder's part of {@code maxmem} above {@code memory}: the domain is built with maxmem's frames and
     * starts with memory's, the others left unpopulated where the guest's memory map has them, for its balloon.
     */
    private void leaveUnpopulated(int domid, GuestConfig cfg) throws HypercallException {
        int pages = cfg.maxmemPages();
        int nr = cfg.memoryPages();
        if (nr < pages) ctl.unpopulate(domid, MemoryMap.unpopulatedFirst(pages, nr), MemoryMap.unpopulatedCount(pages, nr));
    }

    /** The config a guest was created or restored with (xl.cfg's meaning, its shutdown actions), or null. */
    public synchronized DomainConfig domainConfig(int domid) {
        return configs.get(domid);
    }

    /** The guest with its kernel started, or, for a domain left paused, its kernel held for the first unpause. */
    private Guest startOrHold(int domid, GuestConfig cfg, boolean paused) throws IOException, HypercallException {
        KernelStart start = () -> cfg.ownProcess() ? startProcess(domid, cfg) : startThread(domid, cfg);
        if (!paused) return start.start();
        heldKernels.put(domid, start);
        return new Guest(domid, cfg.name(), null, null);
    }

    /** The jars of a guest's kernel image: its config's {@code kernel}, else the host's module path. */
    private List<Path> kernelImage(GuestConfig cfg) {
        return cfg.modulePath().isEmpty() ? modulePath : cfg.modulePath();
    }

    /** A guest process has its kernel image's jars on its class path. */
    private Guest startProcess(int domid, GuestConfig cfg) throws IOException, HypercallException {
        Process p = service.launch(domid, kernelImage(cfg), cfg.kernel(), cfg.kernelArgs().toArray(String[]::new));
        return new Guest(domid, cfg.name(), null, p);
    }

    /**
     * An in-process guest's kernel thread has a class loader over its kernel image's jars (parent: the host's
     * loader) as its context class loader, where its kernel finds modules; closed when the kernel returns.
     */
    private Guest startThread(int domid, GuestConfig cfg) throws IOException, HypercallException {
        List<Path> jars = kernelImage(cfg);
        java.net.URLClassLoader image = jars.isEmpty() ? null : ModuleDirectory.jarLoader(jars);
        ClassLoader loader = image != null ? image : Host.class.getClassLoader();
        GuestKernel kernel;
        try {
            kernel = (GuestKernel) Class.forName(cfg.kernel(), true, loader).getConstructor().newInstance();
        } catch (ReflectiveOperationException | ClassCastException e) {
            closeQuietly(image);
            throw new IllegalArgumentException("no guest kernel class " + cfg.kernel(), e);
        }
        Hypercalls hc = hv.connect(domid);
        runtime.inProcess(domid, hc);
        String[] args = cfg.kernelArgs().toArray(String[]::new);
        // Virtual: a host may run a thousand in-process guests, and each platform thread makes every JVM-wide
        // handshake (a shared arena's close, as each grant unmap does) walk one more stack.
        Thread t = Thread.ofVirtual().name("d" + domid + "-kernel").unstarted(() -> {
            // The same contract as a guest process (GuestMain): return powers off, an exception crashes.
            ShutdownReason reason = ShutdownReason.POWEROFF;
            try {
                kernel.boot(hc, args);
            } catch (Exception e) {
                boolean destroyed;
                synchronized (Host.this) {
                    if (booting.contains(domid)) bootPanics.put(domid, String.valueOf(e.getMessage()));
                    destroyed = !guests.containsKey(domid);
                }
                // A kernel torn down by its domain's destruction (destroy, or the end of a save or migration: the
                // domain lives on elsewhere) may fail on its way out; that is no panic of a running guest.
                LOG.log(destroyed ? Level.DEBUG : Level.WARNING, "d{0} kernel panic: {1}", String.valueOf(domid), e.toString());
                reason = ShutdownReason.CRASH;
            }
            try {
                hc.shutdown(reason);
            } catch (HypercallException e) {
                LOG.log(Level.DEBUG, "d{0} shutdown: {1}", String.valueOf(domid), e.getMessage());
            }
            hc.close();
            closeQuietly(image);
        });
        t.setContextClassLoader(loader);
        t.start();
        return new Guest(domid, cfg.name(), t, null);
    }

    private static void closeQuietly(java.net.URLClassLoader loader) {
        if (loader == null) return;
        try {
            loader.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing a kernel image''s loader: {0}", e.toString());
        }
    }

    /**
     * xl create: boot the guest and wait until it has booted ({@link BootWatch}), then add the config's devices
     * as libxl does after the domain is built; a guest that dies while booting, or a device that fails to
     * attach, destroys the domain, as libxl's domain creation does.
     */
    public Guest create(DomainConfig cfg) throws IOException, HypercallException, DeviceException, InterruptedException,
            BootFailedException {
        return create(cfg, true, false);
    }

    /**
     * xl create -p: the domain built as by {@link #create(DomainConfig)}, its devices added (their backends wait
     * in InitWait), and left paused: xl unpause boots it. Nothing to wait for, as libxl, which unpauses last.
     */
    public Guest createPaused(DomainConfig cfg) throws IOException, HypercallException, DeviceException,
            InterruptedException, BootFailedException {
        return create(cfg, false, true);
    }

    private Guest create(DomainConfig cfg, boolean awaitBoot, boolean paused) throws IOException, HypercallException,
            DeviceException, InterruptedException, BootFailedException {
        Guest g = boot(cfg, awaitBoot, paused);
        try {
            if (awaitBoot) awaitBoot(g);
            for (DeviceSpec d : cfg.devices()) libxl.addDevice(g.domid(), d);
        } catch (IOException | DeviceException | InterruptedException | BootFailedException | RuntimeException e) {
            destroyQuietly(g.domid());
            throw e;
        }
        return g;
    }

    /**
     * Waits for the guest's boot; a guest that died or did not finish is destroyed (which drains its console
     * ring into its log) and reported with its last console lines.
     */
    private void awaitBoot(Guest g) throws IOException, InterruptedException, BootFailedException {
        CompletableFuture<Void> end;
        synchronized (this) {
            end = ends.getOrDefault(g.domid(), CompletableFuture.completedFuture(null));
        }
        ConsoleLog log = consoled.log(g.domid());
        boolean booted = BootWatch.await(xs, g.domid(), BOOT_TIMEOUT, end);
        String panic;
        synchronized (this) {
            booting.remove(g.domid());
            panic = bootPanics.remove(g.domid());
        }
        if (booted) return;
        String how = deathOf(g.domid());
        destroyQuietly(g.domid());
        List<String> tail = BootWatch.tail(log);
        String what = how.equals("is still running")
                ? "did not finish booting within " + BOOT_TIMEOUT.toSeconds() + " s (no control/feature-poweroff); destroyed it"
                : how + " while booting" + (panic != null ? " (kernel panic: " + panic + ")" : "");
        throw new BootFailedException("guest " + g.name() + " (domain " + g.domid() + ") " + what
                + (tail.isEmpty() ? "; it printed nothing on its console" : "; its last console lines:"), tail);
    }

    /** How long xl create waits for a guest to finish booting. */
    static final Duration BOOT_TIMEOUT = Duration.ofSeconds(60);

    /** How a dead or dying domain ended, for a boot failure's message. */
    private String deathOf(int domid) {
        try {
            DomainInfo info = ctl.info(domid);
            if (info.state() == DomainState.SHUTDOWN) {
                return info.crashed() ? "crashed" : "shut down (reason code " + info.shutdownReason().code + ")";
            }
            return info.state() == DomainState.DYING ? "died" : "is still running";
        } catch (HypercallException e) {
            return "died";
        }
    }

    /** The name a guest was created with, else what its XenStore home says, else xl's "(null)". */
    public String nameOf(int domid) {
        synchronized (this) {
            Guest g = guests.get(domid);
            if (g != null) return g.name();
        }
        try {
            String v = libxl.domainName(domid);
            return v == null ? "(null)" : v;
        } catch (IOException e) {
            return "(null)";
        }
    }

    public Path controlSocket() {
        return control.socketPath();
    }

    /**
     * VIRQ_DOM_EXC: some domain changed state. As C xenstored's domain_cleanup, tell xenstored which introduced
     * domains shut down or are gone; and, as xl's default on_poweroff/on_crash=destroy, destroy shut-down guests.
     */
    private void domainsChanged() {
        if (closing) return;
        // xenstored (C's does so itself with VIRQ_DOM_EXC) releases dead domains and announces shut-down ones.
        devices.domainsChanged();
        try {
            reapDomains();
        } catch (IllegalStateException e) {
            // xenstored stopped under us: only possible while the host is closing, which tears down the rest.
            if (!closing) throw e;
        }
    }

    private void reapDomains() {
        List<Integer> known;
        synchronized (this) {
            known = new ArrayList<>(guests.keySet());
        }
        for (int domid : known) {
            DomainInfo info;
            try {
                info = ctl.info(domid);
            } catch (HypercallException e) {
                continue;
            }
            if (info.state() == DomainState.DYING) {
                consoled.detach(domid);
            } else if (info.state() == DomainState.SHUTDOWN && info.shutdownReason() == ShutdownReason.SUSPEND) {
                // Its toolstack asked for this (a save, a migration) and decides what comes next: resume or destroy.
                // Said once: every other domain's change brings us here again while it stays suspended.
                synchronized (this) {
                    if (!suspended.add(domid)) continue;
                }
                dom0Kernel.printk("toolstack: domain " + domid + " (" + nameOf(domid) + ") has suspended");
            } else if (info.state() == DomainState.SHUTDOWN) {
                synchronized (this) {
                    if (preserved.contains(domid) || handledShutdown.contains(domid)) continue;
                    handledShutdown.add(domid);
                }
                // xl's line for a domain's death, in dom0's log (xl dmesg): what remains of how it ended.
                dom0Kernel.printk("toolstack: domain " + domid + " (" + nameOf(domid) + ") has shut down, reason code "
                        + info.shutdownReason().code + (info.crashed() ? " (crashed)" : ""));
                runtime.shutDown(domid, info.shutdownReason());
                onShutdown(domid, info.shutdownReason());
            }
        }
    }

    /**
     * xl's handle_domain_death: the config's action for the reason. A guest still booting for xl create is
     * left to it (create destroys it and reports it), so a guest that crashes while booting is not restarted
     * over and over.
     */
    private void onShutdown(int domid, ShutdownReason reason) {
        DomainConfig cfg;
        CompletableFuture<Void> end;
        synchronized (this) {
            cfg = configs.get(domid);
            end = ends.get(domid);
            if (booting.contains(domid)) {
                preserved.add(domid); // until create destroys it: not reported again
                if (end != null) end.complete(null);
                return;
            }
        }
        if (end != null) end.complete(null);
        ShutdownAction.OnShutdown on = cfg == null ? ShutdownAction.OnShutdown.DESTROY_ALL : cfg.onShutdown();
        ShutdownAction action = switch (reason) {
            case POWEROFF -> on.poweroff();
            case REBOOT -> on.reboot();
            case CRASH -> on.crash();
            default -> ShutdownAction.DESTROY;
        };
        dom0Kernel.printk("toolstack: Action for shutdown reason code " + reason.code + " is " + action.xlName);
        switch (action) {
            case DESTROY -> {
                dom0Kernel.printk("toolstack: Domain " + domid + " needs to be cleaned up: destroying the domain");
                destroyQuietly(domid);
            }
            case PRESERVE -> {
                synchronized (this) {
                    preserved.add(domid);
                }
                runtime.kept(domid); // xl shutdown -w learns how it ended: it stays, shut down
            }
            case RESTART -> {
                DomainConfig next = reloadConfig(domid, cfg);
                dom0Kernel.printk("toolstack: Domain " + domid + " needs to be cleaned up: destroying the domain");
                destroyQuietly(domid);
                restart(next);
            }
            case RENAME_RESTART -> {
                DomainConfig next = reloadConfig(domid, cfg);
                preserveRenamed(domid);
                runtime.kept(domid);
                restart(next);
            }
        }
    }

    /**
     * xl's reload_domain_config, before a restart: the config xl config-update stored, else the domain's config as
     * it is now (libxl_retrieve_domain_configuration: disks attached since creation come back, detached ones do
     * not, the balloon target is the new domain's memory), else, when that fails, the config it was created with.
     */
    private DomainConfig reloadConfig(int domid, DomainConfig created) {
        DomainConfig updated;
        synchronized (this) {
            updated = updatedConfigs.remove(domid);
        }
        if (updated != null) {
            dom0Kernel.printk("toolstack: \"xl\" configuration found, using it");
            // xl restarts a domain under the name it had, whatever the new config says.
            return created == null ? updated : updated.named(created.guest().name());
        }
        if (created == null) return null;
        try {
            return DomainConfig.parse(RetrievedConfig.xlCfg(this, domid), modulePath(), Path.of("/"))
                    .named(created.guest().name());
        } catch (IOException | XlCfgException | IllegalArgumentException e) {
            dom0Kernel.printk("toolstack: failed to retrieve guest configuration (" + e.getMessage()
                    + "). reusing old configuration");
            return created;
        }
    }

    /**
     * xl config-update: the config a guest's next reboot builds the new domain from, instead of the domain's
     * own; its name stays the guest's (xl restarts a domain under the name it had).
     */
    public synchronized void updateConfig(int domid, DomainConfig cfg) throws ControlException {
        Guest g = guests.get(domid);
        if (g == null) throw new ControlException("domain " + domid + " is not a guest of this host");
        updatedConfigs.put(domid, cfg);
    }

    /** xl's preserve_domain: the old domain keeps running shut down as NAME-YYYYMMDDTHHMMZ, with a new uuid. */
    private void preserveRenamed(int domid) {
        String suffix = java.time.format.DateTimeFormatter.ofPattern("-yyyyMMdd'T'HHmm'Z'")
                .format(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC));
        synchronized (this) {
            preserved.add(domid);
            Guest g = guests.get(domid);
            if (g == null) return;
            String newName = g.name() + suffix;
            for (int n = 2; nameTaken(newName); n++) newName = g.name() + suffix + "-" + n;
            dom0Kernel.printk("toolstack: Preserving domain " + domid + " " + g.name() + " with suffix" + suffix);
            try {
                libxl.preserveDomain(domid, newName);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "renaming domain {0}: {1}", String.valueOf(domid), e.toString());
            }
            putGuest(new Guest(domid, newName, g.thread(), g.process()));
            DomainConfig c = configs.get(domid);
            if (c != null) configs.put(domid, c.named(newName));
        }
    }

    /** Whether a domain has this name: one lookup, not a walk over every domain at each create. */
    private boolean nameTaken(String name) {
        return names.containsKey(name);
    }

    private void putGuest(Guest g) {
        Guest old = guests.put(g.domid(), g);
        if (old != null) forgetName(old.name());
        names.merge(g.name(), 1, Integer::sum);
    }

    private Guest removeGuest(int domid) {
        Guest g = guests.remove(domid);
        if (g != null) forgetName(g.name());
        return g;
    }

    private void forgetName(String name) {
        names.computeIfPresent(name, (k, n) -> n == 1 ? null : n - 1);
    }

    /** A new domain from the same config, on a thread of its own: dom0's event thread must not wait for a boot. */
    private void restart(DomainConfig cfg) {
        if (cfg == null || closing) return;
        Thread.ofVirtual().name("toolstack-restart-" + cfg.guest().name()).start(() -> {
            try {
                Guest n = create(cfg, false, false);
                dom0Kernel.printk("toolstack: Done. Rebooting now: " + cfg.guest().name() + " is domain " + n.domid());
            } catch (Exception e) {
                if (!closing) dom0Kernel.printk("toolstack: restarting " + cfg.guest().name() + " failed: " + e.getMessage());
            }
        });
    }

    /**
     * xl destroy, in libxl's order: remove the domain's XenStore home and vm paths (dom0 owns them, so
     * xenstored would keep them) and its devices' backend directories, then destroy the domain; xenstored hears
     * of that through VIRQ_DOM_EXC and removes whatever the guest owned.
     */
    public synchronized void destroy(int domid) throws HypercallException {
        heldKernels.remove(domid);
        Guest g = removeGuest(domid);
        configs.remove(domid);
        updatedConfigs.remove(domid);
        preserved.remove(domid);
        suspended.remove(domid);
        CompletableFuture<Void> end = ends.remove(domid);
        if (end != null) end.complete(null);
        consoled.detach(domid);
        if (g != null) dom0Kernel.printk("toolstack: destroying domain " + domid + " (" + g.name() + ")");
        removeDomainNodes(domid);
        try {
            ctl.destroy(domid);
        } finally {
            runtime.destroyed(domid);
        }
        if (g != null && g.process() != null) g.process().destroyForcibly();
        if (g != null && g.thread() != null) g.thread().interrupt(); // its kernel frees its threads and namespace
    }

    /** xl pause: the hypervisor stops the domain (no events delivered, its threads held at their next hypercall). */
    public void pause(int domid) throws HypercallException {
        ctl.pause(domid);
    }

    /** xl unpause; the first one of a domain created or restored paused starts its kernel. */
    public void unpause(int domid) throws HypercallException {
        KernelStart start;
        synchronized (this) {
            start = heldKernels.remove(domid);
        }
        ctl.unpause(domid);
        if (start == null) return;
        synchronized (this) {
            Guest held = guests.get(domid);
            if (held == null) return; // destroyed meanwhile
            try {
                Guest g = start.start();
                // Under the name it has now (renamed while paused, it keeps the new one).
                putGuest(new Guest(domid, held.name(), g.thread(), g.process()));
            } catch (IOException | HypercallException | RuntimeException e) {
                // As a creation that fails part way: the half-started domain goes.
                destroyQuietly(domid);
                if (e instanceof HypercallException h) throw h;
                throw new HypercallException(Errno.EIO, "starting the kernel of domain " + domid
                        + ": " + e.getMessage());
            }
        }
    }

    /**
     * xl rename, as libxl_domain_rename: refused if another domain has the name; else the name in the domain's
     * home and its vm path are rewritten in one transaction.
     */
    public synchronized void rename(int domid, String name) throws IOException {
        Guest g = guests.get(domid);
        if (g == null) throw new IllegalArgumentException("domain " + domid + " is not a guest of this host");
        if (!name.matches("[A-Za-z0-9_.-]+") || name.matches("[0-9]+")) {
            throw new IllegalArgumentException("invalid domain name \"" + name + "\"");
        }
        if (name.equals("Domain-0") || guests.values().stream().anyMatch(o -> o.domid() != domid && o.name().equals(name))) {
            throw new IllegalArgumentException("domain with name \"" + name + "\" already exists.");
        }
        libxl.renameDomain(domid, name);
        putGuest(new Guest(domid, name, g.thread(), g.process()));
        dom0Kernel.printk("toolstack: domain " + domid + " renamed from " + g.name() + " to " + name);
    }

    /** Time(s) of xl list: the CPU time the domain used (see DomainRuntime). */
    public synchronized java.time.Duration cpuTime(int domid) {
        if (domid == 0) return runtime.dom0CpuTime();
        Guest g = guests.get(domid);
        return runtime.cpuTime(domid, g == null ? null : g.process());
    }

    /** When the domain was started (dom0: the host). */
    public java.time.Instant startTime(int domid) {
        return runtime.startTime(domid);
    }

    /** The config a guest was created with (its name as created: nameOf gives the current one), or null. */
    public GuestConfig config(int domid) {
        return runtime.config(domid);
    }

    /**
     * Completes when the domain shuts down (with its reason) or is destroyed (reason null); at once for a
     * domain that is already gone.
     */
    public java.util.concurrent.CompletableFuture<ShutdownReason> death(int domid) {
        return runtime.death(domid).thenApply(DomainRuntime.Death::reason);
    }

    private void removeDomainNodes(int domid) {
        try {
            libxl.destroyDomainNodes(domid);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "removing the store nodes of domain {0}: {1}", String.valueOf(domid), e.toString());
        }
    }

    private void destroyQuietly(int domid) {
        try {
            destroy(domid);
        } catch (HypercallException e) {
            LOG.log(Level.DEBUG, "destroy d{0}: {1}", String.valueOf(domid), e.getMessage());
        }
    }

    public synchronized List<Guest> guests() {
        return new ArrayList<>(guests.values());
    }

    /** A live guest's console log (what xenconsoled read from its ring), or null when there is no such guest. */
    public ConsoleLog consoleLog(int domid) {
        return consoled.log(domid);
    }

    /**
     * Types {@code bytes} on a live guest's console (into its ring's {@code in} buffer, waiting for room while
     * the guest reads); false when there is no such guest console.
     */
    public boolean consoleInput(int domid, byte[] bytes) throws InterruptedException {
        return consoled.input(domid, bytes);
    }

    public List<DomainInfo> domains() throws HypercallException {
        return ctl.list();
    }

    @Override
    public void close() {
        // Not under the host's lock: dom0's event thread may be waiting for it in domainsChanged, and closing
        // dom0 joins that thread.
        synchronized (this) {
            if (closing) return;
            closing = true;
        }
        control.close();
        dom0Kernel.unloadAll();
        for (Guest g : guests()) {
            if (g.process() != null) g.process().destroyForcibly();
            destroyQuietly(g.domid());
        }
        consoled.close();
        try {
            xs.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing dom0 xenstore client: {0}", e.toString());
        }
        if (xenstored != null) xenstored.close();
        if (embedded != null) embedded.close();
        devices.close();
        service.close();
        dom0.close();
        hv.close();
        closeQuietly(dom0Modules);
    }
}
