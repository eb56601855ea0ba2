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
import org.jxen.drivers.blk.back.BlkBack;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.ShutdownReason;
import org.jxen.hypervisor.process.GuestKernel;
import org.jxen.hypervisor.process.HypervisorService;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstored.XenStoredServer;
import org.jxen.kernel.CommandLine;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelLog;
import org.jxen.kernel.KernelRole;
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
    private final XenStoredServer xenstored;
    private final XsClient xs;
    private final Libxl libxl;
    private final Kernel dom0Kernel;
    private final Xenconsoled consoled;
    private final ControlServer control;
    /** --module-path: jars of modules for dom0 and, by default, for guests; and dom0's loader over them. */
    private final List<Path> modulePath;
    private final java.net.URLClassLoader dom0Modules;
    private final Map<Integer, Guest> guests = new HashMap<>();
    /** Set once close() starts: dom0's VIRQ handler then leaves the teardown to close(). */
    private volatile boolean closing;

    /** A booted guest: its domain id, name, and the thread or process running its kernel. */
    public record Guest(int domid, String name, Thread thread, Process process) {}

    private Host(Path runDir, boolean trace, List<Path> modulePath) throws IOException, HypercallException {
        this.runDir = runDir;
        this.modulePath = List.copyOf(modulePath);
        this.dom0Modules = modulePath.isEmpty() ? null : ModuleDirectory.jarLoader(this.modulePath);
        Files.createDirectories(runDir.resolve("xenstored"));
        hv = new Hypervisor(runDir.resolve("hv"), DOM0_PAGES);
        dom0 = hv.connect(0);
        ctl = dom0.domainControl();
        dom0.setEventHandler(port -> {}, Delivery.BLOCKING);
        service = HypervisorService.start(hv);
        xenstored = XenStoredServer.start(new XenStoredServer.Options(runDir.resolve(XENSTORED_SOCKET),
                trace ? runDir.resolve("xenstored/trace") : null));
        xenstored.setDomainHooks(new XenstoredRings(dom0, xenstored));
        xs = new XsClient(xenstored.connectInProcess(0));
        // vbd runs scripts/hotplug/block when the installation has it.
        Path block = DiskSpec.blockScript();
        libxl = Libxl.forXenstored(xs, xenstored.socketPath(), block == null ? Map.of() : Map.of("vbd", block),
                w -> LOG.log(Level.WARNING, w));
        libxl.writeHostNodes();
        int virq = dom0.bindVirq(Hypercalls.VIRQ_DOM_EXC);
        dom0.onEvent(virq, p -> domainsChanged());
        consoled = new Xenconsoled(dom0, runDir.resolve("console"));
        dom0Kernel = new Kernel(dom0, xs, new KernelLog(),
                dom0Modules == null ? ModuleDirectory.classPath() : ModuleDirectory.of(dom0Modules));
        control = ControlServer.start(this, runDir.resolve(ControlServer.SOCKET_NAME));
        dom0Kernel.printk("jxen host: dom0 up; xenstored on " + xenstored.socketPath() + ", toolstack on "
                + control.socketPath());
        // dom0's built-in modules (the standard backends) print their own lines after the host's.
        try {
            dom0Kernel.boot(KernelRole.DOM0, CommandLine.EMPTY);
        } catch (Exception e) {
            control.close();
            throw new IOException("dom0's built-in modules: " + e.getMessage(), e);
        }
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

    public Path xenstoredSocket() {
        return xenstored.socketPath();
    }

    public Hypervisor hypervisor() {
        return hv;
    }

    public Hypercalls dom0() {
        return dom0;
    }

    public XenStoredServer xenstored() {
        return xenstored;
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
    public synchronized Guest create(GuestConfig cfg) throws IOException, HypercallException {
        int domid = ctl.createDomain(cfg.memoryPages(), cfg.vcpus());
        try {
            DomainInfo info = ctl.info(domid);
            libxl.buildDomain(domid, cfg, info);
            // As xenconsoled does on seeing the new domain: serve its console before it can print.
            consoled.attach(domid, cfg.name(), info.consolePort());
            ctl.unpause(domid);
            Guest g = cfg.ownProcess() ? startProcess(domid, cfg) : startThread(domid, cfg);
            guests.put(domid, g);
            dom0Kernel.printk("toolstack: created domain " + domid + " (" + cfg.name() + ", "
                    + (cfg.ownProcess() ? "own process" : "in-process") + ")");
            return g;
        } catch (IOException | HypercallException | RuntimeException e) {
            destroyQuietly(domid);
            throw e;
        }
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
        String[] args = cfg.kernelArgs().toArray(String[]::new);
        // Virtual: a host may run a thousand in-process guests, and each platform thread makes every JVM-wide
        // handshake (a shared arena's close, as each grant unmap does) walk one more stack.
        Thread t = Thread.ofVirtual().name("d" + domid + "-kernel").unstarted(() -> {
            // The same contract as a guest process (GuestMain): return powers off, an exception crashes.
            ShutdownReason reason = ShutdownReason.POWEROFF;
            try {
                kernel.boot(hc, args);
            } catch (Exception e) {
                LOG.log(Level.WARNING, "d{0} kernel panic: {1}", domid, e.toString());
                reason = ShutdownReason.CRASH;
            }
            try {
                hc.shutdown(reason);
            } catch (HypercallException e) {
                LOG.log(Level.DEBUG, "d{0} shutdown: {1}", domid, e.getMessage());
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
     * xl create: boot the guest, then add the config's devices as libxl does after the domain is built; a
     * device that fails to attach destroys the domain, as libxl's domain creation does.
     */
    public Guest create(DomainConfig cfg) throws IOException, HypercallException, DeviceException, InterruptedException {
        synchronized (this) {
            for (Guest g : guests.values()) {
                if (g.name().equals(cfg.guest().name())) {
                    throw new IllegalArgumentException("domain with name " + cfg.guest().name() + " already exists");
                }
            }
        }
        Guest g = create(cfg.guest());
        try {
            for (DeviceSpec d : cfg.devices()) libxl.addDevice(g.domid(), d);
        } catch (IOException | DeviceException | InterruptedException | RuntimeException e) {
            destroyQuietly(g.domid());
            throw e;
        }
        return g;
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
        try {
            reapDomains();
        } catch (IllegalStateException e) {
            // xenstored stopped under us: only possible while the host is closing, which tears down the rest.
            if (!closing) throw e;
        }
    }

    private void reapDomains() {
        List<Integer> introduced = xenstored.onLoop(e -> e.introducedDomains());
        for (int domid : introduced) {
            DomainInfo info;
            try {
                info = ctl.info(domid);
            } catch (HypercallException e) {
                xenstored.domainDied(domid);
                continue;
            }
            if (info.state() == DomainState.DYING) {
                consoled.detach(domid);
                xenstored.domainDied(domid);
            } else if (info.state() == DomainState.SHUTDOWN && info.shutdownReason() == ShutdownReason.SUSPEND) {
                // Its toolstack asked for this (a save, a migration) and decides what comes next: resume or destroy.
                xenstored.onLoop(e -> {
                    e.domainShutdown(domid);
                    return null;
                });
                dom0Kernel.printk("toolstack: domain " + domid + " (" + nameOf(domid) + ") has suspended");
            } else if (info.state() == DomainState.SHUTDOWN) {
                xenstored.onLoop(e -> {
                    e.domainShutdown(domid);
                    return null;
                });
                // xl's line for a domain's death, in dom0's log (xl dmesg): the domain is destroyed next, so
                // this is what remains of how it ended.
                dom0Kernel.printk("toolstack: domain " + domid + " (" + nameOf(domid) + ") has shut down, reason code "
                        + info.shutdownReason().code + (info.crashed() ? " (crashed)" : ""));
                destroyQuietly(domid);
            }
        }
    }

    /**
     * xl destroy, in libxl's order: remove the domain's XenStore home and vm paths (dom0 owns them, so
     * xenstored would keep them) and its devices' backend directories, then destroy the domain; xenstored hears
     * of that through VIRQ_DOM_EXC and removes whatever the guest owned.
     */
    public synchronized void destroy(int domid) throws HypercallException {
        Guest g = guests.remove(domid);
        consoled.detach(domid);
        if (g != null) dom0Kernel.printk("toolstack: destroying domain " + domid + " (" + g.name() + ")");
        removeDomainNodes(domid);
        ctl.destroy(domid);
        if (g != null && g.process() != null) g.process().destroyForcibly();
    }

    private void removeDomainNodes(int domid) {
        try {
            libxl.destroyDomainNodes(domid);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "removing the store nodes of domain {0}: {1}", domid, e.toString());
        }
    }

    private void destroyQuietly(int domid) {
        try {
            destroy(domid);
        } catch (HypercallException e) {
            LOG.log(Level.DEBUG, "destroy d{0}: {1}", domid, e.getMessage());
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
        xenstored.close();
        service.close();
        dom0.close();
        hv.close();
        closeQuietly(dom0Modules);
    }
}
