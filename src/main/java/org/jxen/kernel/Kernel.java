package org.jxen.kernel;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.xenbus.Xenbus;
import org.jxen.xenbus.XenbusResources;
import org.jxen.xenstore.client.XsClient;

/**
 * One domain's kernel as drivers see it: its hypercalls, its XenStore connection, its log, and the modules
 * loaded into it. dom0's kernel lives in the host; a guest's in its own thread or process.
 */
public final class Kernel {
    private final Hypercalls hc;
    private final XsClient xs;
    private final KernelLog log;
    private final Map<String, KernelModule> modules = new LinkedHashMap<>();
    private final FrameAllocator frames;
    private final Xenbus xenbus;
    private final Disks disks = new Disks();

    public Kernel(Hypercalls hc, XsClient xs, KernelLog log) {
        this.hc = hc;
        this.xs = xs;
        this.log = log;
        this.frames = new FrameAllocator(hc);
        this.xenbus = new Xenbus(hc, xs, frames, log::printk);
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

    /** insmod: runs the module's init; a module name can be loaded once. */
    public synchronized void load(KernelModule m) throws Exception {
        if (modules.containsKey(m.name())) throw new IllegalStateException("module " + m.name() + " is already loaded");
        m.init(this);
        modules.put(m.name(), m);
    }

    /** rmmod: runs the module's exit. */
    public synchronized void unload(String name) throws Exception {
        KernelModule m = modules.get(name);
        if (m == null) throw new IllegalStateException("module " + name + " is not loaded");
        m.exit(this);
        modules.remove(name);
    }

    /** The loaded module called {@code name}. */
    public synchronized java.util.Optional<KernelModule> module(String name) {
        return java.util.Optional.ofNullable(modules.get(name));
    }

    public synchronized List<String> modules() {
        return new ArrayList<>(modules.keySet());
    }

    /** Unloads every module, last loaded first (kernel shutdown); failures are logged, not thrown. */
    public synchronized void unloadAll() {
        List<String> names = new ArrayList<>(modules.keySet());
        for (int i = names.size() - 1; i >= 0; i--) {
            try {
                unload(names.get(i));
            } catch (Exception e) {
                log.printk("rmmod " + names.get(i) + " failed: " + e);
                modules.remove(names.get(i));
            }
        }
    }
}
