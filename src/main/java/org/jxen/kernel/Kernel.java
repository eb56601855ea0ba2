package org.jxen.kernel;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.xenbus.Xenbus;
import org.jxen.xenbus.XenbusResources;
import org.jxen.xenstore.client.XsClient;

/**
 * One domain's kernel as drivers see it: its hypercalls, its XenStore connection, its log, its block layer, and
 * the modules loaded into it (built in at {@link #boot}, or loaded with {@link #insmod}), which it alone keeps.
 * dom0's kernel lives in the host; a guest's in its own thread or process.
 */
public final class Kernel {
    private final Hypercalls hc;
    private final XsClient xs;
    private final KernelLog log;
    private final Map<String, Loaded> modules = new LinkedHashMap<>();
    private final ModuleDirectory directory;
    private final FrameAllocator frames;
    /** The command line the kernel was made with (early boot reads it; {@link #boot} usually gets it too). */
    private final CommandLine cmdline;
    private final Xenbus xenbus;
    private final Disks disks = new Disks();
    private volatile Terminal console;
    private final NetNamespace netns = new NetNamespace();
    /** Workload states of the record this kernel resumes from, by module name, until each is handed over. */
    private final Map<String, byte[]> recordedStates = new java.util.HashMap<>();

    /** A loaded module, whether it was built in, and insmod's arguments (what a restored kernel loads it with). */
    private record Loaded(KernelModule module, boolean builtin, List<String> args) {
        Loaded(KernelModule module, boolean builtin) {
            this(module, builtin, List.of());
        }
    }

    /**
     * A kernel whose modules are those the calling thread's context class loader sees (a guest's kernel image:
     * the class path, with the jar of its {@code kernel =} when the host set one).
     */
    public Kernel(Hypercalls hc, XsClient xs, KernelLog log) {
        this(hc, xs, log, ModuleDirectory.of(contextLoader()), CommandLine.EMPTY);
    }

    public Kernel(Hypercalls hc, XsClient xs, KernelLog log, ModuleDirectory directory) {
        this(hc, xs, log, directory, CommandLine.EMPTY);
    }

    /**
     * @param cmdline the command line as early boot code reads it, before any module: only the core's own
     *        parameters ({@code xen.fifo_events}) are taken from it here; {@link #boot} gives it to the modules
     */
    public Kernel(Hypercalls hc, XsClient xs, KernelLog log, ModuleDirectory directory, CommandLine cmdline) {
        this.directory = directory;
        this.hc = hc;
        this.xs = xs;
        this.log = log;
        this.frames = new FrameAllocator(hc);
        this.cmdline = cmdline;
        if (hc != null) initEvents(hc, frames, log, cmdline);
        this.xenbus = new Xenbus(hc, xs, frames, log::printk);
    }

    /**
     * xen_init_IRQ: the FIFO event-channel ABI when the hypervisor offers it (131072 ports, priorities), else the
     * 2-level one; {@code xen.fifo_events=0} keeps the 2-level ABI, as on Linux. The pages come from the kernel's
     * own allocator. Only the 2-level ABI is logged (Linux also logs "Using FIFO-based ABI", which would be the
     * first line of every dmesg here).
     */
    private static void initEvents(Hypercalls hc, FrameAllocator frames, KernelLog log, CommandLine cmdline) {
        boolean fifo = true;
        for (CommandLine.Parameter p : cmdline.parametersOf("xen")) {
            if (!p.key().equals("fifo_events")) continue;
            try {
                fifo = ModuleParameters.bool(p.value());
            } catch (IllegalArgumentException e) {
                // parse_args' message; the parameter keeps its default.
                log.printk("xen: `" + p.value() + "' invalid for parameter `fifo_events'");
            }
        }
        if (!fifo) {
            log.printk("xen:events: Using 2-level ABI");
            return;
        }
        try {
            hc.useFifo(() -> frames.frameOf(frames.alloc()));
        } catch (HypercallException | RuntimeException e) {
            log.printk("xen:events: Using 2-level ABI (FIFO: " + e.getMessage() + ")");
        }
    }

    /** The command line this kernel was made with, parsed once. */
    public CommandLine commandLine() {
        return cmdline;
    }

    static ClassLoader contextLoader() {
        ClassLoader l = Thread.currentThread().getContextClassLoader();
        return l != null ? l : Kernel.class.getClassLoader();
    }

    /** The guest's network stack (its namespace), made on first use; closed at shutdown. */
    public NetNamespace netns() {
        return netns;
    }

    public int domid() {
        return hc.domid();
    }

    public Hypercalls hypercalls() {
        return hc;
    }

    public XsClient xenstore() {
        return xs;
    }

    public KernelLog log() {
        return log;
    }

    public void printk(String line) {
        log.printk(line);
    }

    /** This domain's xenbus: the buses its drivers register with. */
    public Xenbus xenbus() {
        return xenbus;
    }

    /** The console terminal (/dev/console) the console shell runs on, or null when the console takes no input. */
    public Terminal console() {
        return console;
    }

    /** Set by the kernel at boot, before the built-in modules start. */
    public void setConsole(Terminal console) {
        this.console = console;
    }

    /** The block layer: the disks drivers registered, by name. */
    public Disks disks() {
        return disks;
    }

    /** The grants, ports, mappings and pages this kernel's xenbus devices hold. */
    public XenbusResources xenbusResources() {
        return xenbus.resources();
    }

    /** A zeroed page of this domain's memory for a shared ring (Linux's alloc_page). */
    public MemorySegment allocPage() {
        return xenbus.allocPage();
    }

    public void freePage(MemorySegment page) {
        xenbus.freePage(page);
    }

    /**
     * Up to {@code max} free frames of this domain's memory taken from the page allocator, not zeroed, leaving
     * {@code keepFree} free: what the balloon driver gives back to the hypervisor. Fewer, or none, when no more
     * can be spared.
     */
    public int[] takeFrames(int max, int keepFree) {
        return frames.take(max, keepFree);
    }

    /**
     * The frames the domain did not start with (start_info's nr_pages less than its size, {@link MemoryMap}): the
     * page allocator never hands them out; the balloon driver holds them as given back, and may populate them.
     */
    public int[] framesUnpopulatedAtBoot() {
        return frames.unpopulatedAtBoot();
    }

    /** SysRq m's lines: the domain's frames, those the kernel reserves, uses and has free, and those ballooned out. */
    public List<String> showMem() {
        return frames.showMem();
    }

    /** The first {@code count} of {@code taken} back to the page allocator (the balloon has them again). */
    public void returnFrames(int[] taken, int count) {
        frames.release(taken, count);
    }

    /** Where this kernel finds modules by name (insmod, boot). */
    public ModuleDirectory moduleDirectory() {
        return directory;
    }

    /**
     * Loads {@code m} as a loadable module, its parameters already set: runs its init. A module name can be
     * loaded once. What {@link #insmod} does once it has the module; tests and boot code call it directly.
     */
    public synchronized void load(KernelModule m) throws Exception {
        if (modules.containsKey(m.name())) throw new IllegalStateException("module " + m.name() + " is already loaded");
        m.init(this);
        modules.put(m.name(), new Loaded(m, false));
    }

    /** Runs the module's exit and forgets it, built in or not (rmmod, without rmmod's refusals). */
    public synchronized void unload(String name) throws Exception {
        Loaded l = modules.get(name);
        if (l == null) throw new IllegalStateException("module " + name + " is not loaded");
        try {
            l.module().exit(this);
        } finally {
            modules.remove(name);
        }
    }

    /** The modules loaded now, built-in ones included, in the order they were loaded. */
    public synchronized List<String> modules() {
        return new ArrayList<>(modules.keySet());
    }

    /**
     * The loaded module of class {@code type}, or null: how the toolstack reaches a dom0 driver it must poke, as a
     * Linux admin reaches blkback through sysfs (resize after the storage grew).
     */
    public synchronized <T extends KernelModule> T module(Class<T> type) {
        for (Loaded l : modules.values()) {
            if (type.isInstance(l.module())) return type.cast(l.module());
        }
        return null;
    }

    /** Whether {@code name} is loaded and was built in (initialised at boot, not removable). */
    public synchronized boolean isBuiltin(String name) {
        Loaded l = modules.get(name);
        return l != null && l.builtin();
    }

    /** What lsmod lists: the loadable modules loaded now, the last loaded first (as /proc/modules). */
    public synchronized List<String> lsmod() {
        List<String> out = new ArrayList<>();
        for (Loaded l : modules.values()) if (!l.builtin()) out.addFirst(l.module().name());
        return out;
    }

    /**
     * insmod NAME [KEY=VALUE ...]: a fresh instance of the module from the module directory, given
     * {@code args} as parameters (a bare KEY is a boolean set to true), then its init. Nothing is loaded when
     * any step fails; an unknown parameter or a refused value is also logged as Linux's parse_args logs it
     * ({@code NAME: Unknown parameter `KEY'}, {@code NAME: `VALUE' invalid for parameter `KEY'}).
     */
    public synchronized void insmod(String name, List<String> args) throws ModuleException {
        if (modules.containsKey(name)) throw new ModuleException(ModuleException.Reason.EXISTS, name, "File exists");
        KernelModule m;
        try {
            m = directory.find(name).orElse(null);
        } catch (IllegalStateException e) {
            throw new ModuleException(ModuleException.Reason.INVALID_FORMAT, name,
                    "Invalid module format (" + e.getMessage() + ")", e);
        }
        if (m == null) throw new ModuleException(ModuleException.Reason.NOT_FOUND, name, "No such file or directory");
        for (String arg : args) {
            int eq = arg.indexOf('=');
            String key = eq < 0 ? arg : arg.substring(0, eq);
            String value = eq < 0 ? null : arg.substring(eq + 1);
            try {
                m.parameter(key, value);
            } catch (UnknownParameterException e) {
                printk(name + ": Unknown parameter `" + key + "'");
                throw new ModuleException(ModuleException.Reason.UNKNOWN_PARAMETER, name, e.getMessage(), e);
            } catch (IllegalArgumentException e) {
                printk(name + ": `" + (value == null ? "" : value) + "' invalid for parameter `" + key + "'");
                throw new ModuleException(ModuleException.Reason.INVALID_PARAMETERS, name, "Invalid parameters", e);
            }
        }
        handOver(m);
        try {
            m.init(this);
        } catch (Exception e) {
            throw new ModuleException(ModuleException.Reason.INIT_FAILED, name, String.valueOf(e.getMessage()), e);
        }
        modules.put(name, new Loaded(m, false, List.copyOf(args)));
    }

    /**
     * rmmod NAME: runs a loadable module's exit and forgets it. A built-in module or one not loaded is refused
     * with kmod's words ({@code Module NAME is builtin.}, {@code Module NAME is not currently loaded}); an exit
     * that fails still removes the module.
     */
    public synchronized void rmmod(String name) throws ModuleException {
        Loaded l = modules.get(name);
        if (l == null) {
            throw new ModuleException(ModuleException.Reason.NOT_LOADED, name, "Module " + name + " is not currently loaded");
        }
        if (l.builtin()) throw new ModuleException(ModuleException.Reason.BUILTIN, name, "Module " + name + " is builtin.");
        try {
            unload(name);
        } catch (Exception e) {
            throw new ModuleException(ModuleException.Reason.EXIT_FAILED, name, "could not remove module " + name + ": " + e, e);
        }
    }

    /**
     * Boot: initialises the modules built into a kernel of {@code role} with their parameters from
     * {@code cmdline}, reports the command line's words that are not the kernel's, then loads the modules of
     * {@code modules_load=} as modprobe does (with their command-line parameters; a built-in one is already
     * there). On the command line an unknown parameter or a refused value is logged and ignored, as Linux does
     * ({@code NAME: unknown parameter 'KEY' ignored}); a module that is missing or whose init fails is logged and
     * skipped. A built-in module whose init fails is a kernel panic: this exception.
     */
    public synchronized void boot(KernelRole role, CommandLine cmdline) throws Exception {
        for (KernelModule m : directory.builtIn(role)) {
            if (modules.containsKey(m.name())) continue;
            bootParameters(m, cmdline);
            handOver(m);
            m.init(this);
            modules.put(m.name(), new Loaded(m, true));
        }
        if (!cmdline.unknown().isEmpty()) {
            printk("Unknown kernel command line parameters \"" + String.join(" ", cmdline.unknown())
                    + "\", will be passed to user space.");
        }
        for (String name : cmdline.modulesLoad()) {
            if (modules.containsKey(name)) continue;
            printk("modprobe " + name);
            KernelModule m = directory.find(name).orElse(null);
            if (m == null) {
                printk("modprobe: FATAL: Module " + name + " not found.");
                continue;
            }
            bootParameters(m, cmdline);
            handOver(m);
            try {
                load(m);
            } catch (Exception e) {
                printk("modprobe: ERROR: could not insert '" + name + "': " + e.getMessage());
            }
        }
    }

    private void bootParameters(KernelModule m, CommandLine cmdline) {
        for (CommandLine.Parameter p : cmdline.parametersOf(m.name())) {
            try {
                m.parameter(p.key(), p.value());
            } catch (UnknownParameterException e) {
                printk(m.name() + ": unknown parameter '" + p.key() + "' ignored");
            } catch (IllegalArgumentException e) {
                printk(m.name() + ": `" + (p.value() == null ? "" : p.value()) + "' invalid for parameter `" + p.key() + "'");
            }
        }
    }

    /**
     * The domain was destroyed under this kernel (an in-process guest; a guest process is simply killed): each
     * module, last loaded first, frees what is local to it (threads, devices, descriptors) without a word to
     * XenStore or the backends, which are gone; then the network namespace goes, with the programs in it.
     */
    public synchronized void killed() {
        List<String> names = new ArrayList<>(modules.keySet());
        for (int i = names.size() - 1; i >= 0; i--) {
            try {
                modules.get(names.get(i)).module().killed(this);
            } catch (RuntimeException e) {
                log.printk(names.get(i) + ": while the domain died: " + e);
            }
        }
        modules.clear();
        netns.close();
    }

    // ---- suspend: the kernel record (KernelRecord, docs/migration.md) ----

    /** Section names of the kernel record. */
    public static final String REC_DOMID = "domid", REC_MODULES = "modules", REC_LOG = "log", REC_WORKLOAD = "workload/";
    /** How long a workload may take to reach its safe point (Linux's freeze_timeout_msecs is 20 s). */
    static final java.time.Duration FREEZE_TIMEOUT = java.time.Duration.ofSeconds(20);

    private synchronized List<Workload> workloads() {
        List<Workload> out = new ArrayList<>();
        for (Loaded l : modules.values()) if (l.module() instanceof Workload w) out.add(w);
        return out;
    }

    /**
     * freeze_processes: every workload stops at its next safe point. False (and the frozen ones thawed again)
     * when one does not within 20 s: "Freezing of tasks failed", the suspend is aborted.
     */
    public boolean freezeWorkloads() throws InterruptedException {
        List<Workload> done = new ArrayList<>();
        for (Workload w : workloads()) {
            if (!w.freeze(FREEZE_TIMEOUT)) {
                printk("Freezing of tasks failed: " + w.name() + " did not stop within " + FREEZE_TIMEOUT.toSeconds() + " s");
                w.thaw();
                done.forEach(Workload::thaw);
                return false;
            }
            done.add(w);
        }
        return true;
    }

    public void thawWorkloads() {
        workloads().forEach(Workload::thaw);
    }

    /** The domain went away while suspended: workloads end without touching a device. */
    public void abandonWorkloads() {
        workloads().forEach(Workload::abandon);
    }

    /**
     * The record's sections (workloads frozen): this domain's id, the loadable modules with their insmod
     * arguments, each workload's state, and the newest log lines that fit in {@code logBudget} bytes.
     */
    public synchronized Map<String, byte[]> record(int logBudget) {
        Map<String, byte[]> r = new LinkedHashMap<>();
        r.put(REC_DOMID, Integer.toString(domid()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        StringBuilder mods = new StringBuilder();
        for (Loaded l : modules.values()) {
            if (l.builtin()) continue;
            mods.append(l.module().name());
            for (String a : l.args()) mods.append('\0').append(a);
            mods.append('\n');
        }
        r.put(REC_MODULES, mods.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (Loaded l : modules.values()) {
            if (l.module() instanceof Workload w) r.put(REC_WORKLOAD + w.name(), w.state());
        }
        List<String> lines = log.lines();
        java.util.ArrayDeque<String> kept = new java.util.ArrayDeque<>();
        int size = 0;
        for (int i = lines.size() - 1; i >= 0; i--) {
            int n = lines.get(i).getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1;
            if (size + n > logBudget) break;
            size += n;
            kept.addFirst(lines.get(i));
        }
        r.put(REC_LOG, String.join("\n", kept).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return r;
    }

    /** The log lines of a record, oldest first. */
    public static List<String> recordedLog(Map<String, byte[]> record) {
        byte[] b = record.get(REC_LOG);
        if (b == null || b.length == 0) return List.of();
        return List.of(new String(b, java.nio.charset.StandardCharsets.UTF_8).split("\n", -1));
    }

    /**
     * Called before {@link #boot} in a kernel started for a restored domain: every workload this kernel loads
     * from now on (built in, of modules_load=, insmod) whose name has a state in {@code record} gets it before its
     * init, once.
     */
    public synchronized void resuming(Map<String, byte[]> record) {
        for (Map.Entry<String, byte[]> e : record.entrySet()) {
            if (e.getKey().startsWith(REC_WORKLOAD)) recordedStates.put(e.getKey().substring(REC_WORKLOAD.length()), e.getValue());
        }
    }

    private synchronized void handOver(KernelModule m) {
        if (!(m instanceof Workload w)) return;
        byte[] state = recordedStates.remove(m.name());
        if (state != null) w.restore(state);
    }

    /**
     * A kernel started for a restored domain continues from the record: the modules that were loaded (not yet
     * loaded by this boot) with their arguments, each workload from its recorded state. A module that cannot be
     * loaded is logged, as modprobe's failure at boot.
     */
    public void resumeFrom(Map<String, byte[]> record) {
        byte[] mods = record.getOrDefault(REC_MODULES, new byte[0]);
        for (String line : new String(mods, java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
            if (line.isEmpty()) continue;
            String[] parts = line.split("\0");
            String name = parts[0];
            synchronized (this) {
                if (modules.containsKey(name)) continue;
            }
            try {
                synchronized (this) {
                    insmod(name, List.of(parts).subList(1, parts.length));
                }
            } catch (ModuleException e) {
                printk("resume: could not load " + name + ": " + e.getMessage());
            }
        }
    }

    /** Unloads every module, last loaded first (kernel shutdown); failures are logged, not thrown. */
    public synchronized void unloadAll() {
        List<String> names = new ArrayList<>(modules.keySet());
        for (int i = names.size() - 1; i >= 0; i--) {
            try {
                unload(names.get(i));
            } catch (Exception e) {
                log.printk("rmmod " + names.get(i) + " failed: " + e);
            }
        }
        netns.close();
    }
}
