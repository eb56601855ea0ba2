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
import java.util.UUID;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.ShutdownReason;
import org.jxen.hypervisor.process.GuestKernel;
import org.jxen.hypervisor.process.HypervisorService;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
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
    /**
     * libxl's rwperm nodes of a PV guest's home (libxl__domain_make): the guest's own. One deviation: libxl makes
     * {@code device} dom0's (readable by the guest); here it is the guest's, so that a frontend directory written
     * node by node from dom0 without a chmod (the seed's activate.sh, see xenbus.md) is the guest's as well.
     */
    private static final List<String> GUEST_OWNED = List.of("control/shutdown", "control/feature-poweroff",
            "control/feature-reboot", "control/feature-suspend", "control/sysrq", "device",
            "device/suspend/event-channel", "data", "drivers", "feature", "attr", "error");

    private final Path runDir;
    private final Hypervisor hv;
    private final Hypercalls dom0;
    private final DomainControl ctl;
    private final HypervisorService service;
    private final XenStoredServer xenstored;
    private final XsClient xs;
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
        xenstored = XenStoredServer.start(new XenStoredServer.Options(runDir.resolve("xenstored/socket"),
                trace ? runDir.resolve("xenstored/trace") : null));
        xenstored.setDomainHooks(new XenstoredRings(dom0, xenstored));
        xs = new XsClient(xenstored.connectInProcess(0));
        writeBootLayout();
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
    public Kernel dom0Kernel() {
        return dom0Kernel;
    }

    /** dom0's own XenStore connection (privileged). */
    public XsClient xenstore() {
        return xs;
    }

    /** What a Xen host's store holds once dom0 is up. */
    private void writeBootLayout() throws IOException {
        xs.transaction(tx -> {
            tx.write("/local/domain/0/name", "Domain-0");
            tx.write("/local/domain/0/domid", "0");
            tx.mkdir("/tool");
            tx.mkdir("/vm");
            return null;
        });
    }

    /**
     * Builds and boots a guest as xl does: create the (paused) domain, write its XenStore home with libxl's
     * permissions, introduce it to xenstored, unpause it and start its kernel.
     */
    public synchronized Guest create(GuestConfig cfg) throws IOException, HypercallException {
        int domid = ctl.createDomain(cfg.memoryPages(), cfg.vcpus());
        try {
            DomainInfo info = ctl.info(domid);
            writeDomainNodes(domid, cfg, info);
            xs.introduce(domid, DomainLayout.XENSTORE_FRAME, info.xenstorePort());
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

    private void writeDomainNodes(int domid, GuestConfig cfg, DomainInfo info) throws IOException {
        String home = "/local/domain/" + domid;
        UUID uuid = UUID.nameUUIDFromBytes((cfg.name() + "/" + domid).getBytes());
        String vm = "/vm/" + uuid;
        // libxl__domain_make: the home, the vm path, cpu, memory and control are dom0's, readable by the guest
        // (what is written under them inherits that); the guest's own areas belong to the guest.
        XsPerms readOnly = XsPerms.of(new XsPerm(0, false, false), new XsPerm(domid, true, false));
        XsPerms guestOwned = XsPerms.of(new XsPerm(domid, false, false));
        xs.transaction(tx -> {
            tx.mkdir(home);
            tx.setPerms(home, readOnly);
            tx.mkdir(vm);
            tx.setPerms(vm, readOnly);
            tx.write(vm + "/uuid", uuid.toString());
            tx.write(vm + "/name", cfg.name());
            tx.write(home + "/vm", vm);
            tx.write(home + "/name", cfg.name());
            tx.write(home + "/domid", Integer.toString(domid));
            for (String dir : new String[] {"cpu", "memory", "control"}) tx.mkdir(home + "/" + dir);
            tx.write(home + "/memory/static-max", Integer.toString(cfg.memoryMiB() * 1024));
            tx.write(home + "/memory/target", Integer.toString(cfg.memoryMiB() * 1024));
            tx.write(home + "/cpu/0/availability", "online");
            tx.write(home + "/store/port", Integer.toString(info.xenstorePort()));
            tx.write(home + "/store/ring-ref", Integer.toString(DomainLayout.XENSTORE_FRAME));
            tx.write(home + "/console/port", Integer.toString(info.consolePort()));
            tx.write(home + "/console/ring-ref", Integer.toString(DomainLayout.CONSOLE_FRAME));
            // The guest answers control/shutdown and announces what it supports in control/feature-*
            // (Linux's drivers/xen/manage.c writes feature-poweroff, -reboot, -suspend).
            for (String dir : GUEST_OWNED) {
                tx.mkdir(home + "/" + dir);
                tx.setPerms(home + "/" + dir, guestOwned);
            }
            // What the toolstack offers the guest: dom0's, as the rest of control.
            tx.write(home + "/control/platform-feature-multiprocessor-suspend", "1");
            tx.write(home + "/control/platform-feature-xs_reset_watches", "1");
            return null;
        });
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
            DeviceManager devices = deviceManager();
            for (DeviceSpec d : cfg.devices()) devices.add(g.domid(), d);
        } catch (IOException | DeviceException | InterruptedException | RuntimeException e) {
            destroyQuietly(g.domid());
            throw e;
        }
        return g;
    }

    /** libxl's device add/remove over dom0's connection; vbd runs scripts/hotplug/block. */
    public DeviceManager deviceManager() {
        Path block = DiskSpec.blockScript();
        return new DeviceManager(xs, block == null ? Map.of() : Map.of("vbd", block), Map.of("XENSTORED_PATH", xenstoredSocket().toString()),
                DeviceManager.Timeouts.LIBXL, w -> LOG.log(Level.WARNING, w));
    }

    /** The name a guest was created with, else what its XenStore home says, else xl's "(null)". */
    public String nameOf(int domid) {
        synchronized (this) {
            Guest g = guests.get(domid);
            if (g != null) return g.name();
        }
        try {
            String path = "/local/domain/" + domid + "/name";
            String v = xs.readOrNull(path);
            return v == null ? "(null)" : v;
        } catch (IOException e) {
            return "(null)";
        }
    }

    public Path controlSocket() {
        return control.socketPath();
    }

    /** Asks a guest to shut down through XenStore, as {@code xl shutdown} does. */
    public void requestShutdown(int domid, String how) throws IOException {
        xs.write("/local/domain/" + domid + "/control/shutdown", how);
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
     * xenstored would keep them), then destroy the domain; xenstored hears of that through VIRQ_DOM_EXC and
     * removes whatever the guest owned.
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
        String home = "/local/domain/" + domid;
        try {
            xs.transaction(tx -> {
                if (tx.exists(home + "/vm")) tx.rm(tx.readString(home + "/vm"));
                // As libxl__devices_destroy: the backend directories live in the backends' homes, not ours.
                for (String be : backendPaths(tx, home)) {
                    if (tx.exists(be)) tx.rm(be);
                    String parent = be.substring(0, be.lastIndexOf('/'));
                    if (tx.exists(parent) && tx.directory(parent).isEmpty()) tx.rm(parent);
                }
                tx.rm(home);
                return null;
            });
        } catch (IOException e) {
            LOG.log(Level.WARNING, "removing {0}: {1}", home, e.toString());
        }
    }

    private static List<String> backendPaths(XsClient.Tx tx, String home) throws IOException {
        List<String> out = new ArrayList<>();
        if (!tx.exists(home + "/device")) return out;
        for (String kind : tx.directory(home + "/device")) {
            for (String dev : tx.directory(home + "/device/" + kind)) {
                String link = home + "/device/" + kind + "/" + dev + "/backend";
                if (tx.exists(link)) out.add(tx.readString(link));
            }
        }
        return out;
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
