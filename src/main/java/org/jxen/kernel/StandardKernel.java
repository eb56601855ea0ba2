package org.jxen.kernel;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.ShutdownReason;
import org.jxen.hypervisor.process.GuestKernel;
import org.jxen.xenbus.XenbusComms;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.XsClient;

/**
 * The part of a Linux guest every jxen guest runs: connect to XenStore, announce the control features, and
 * act on {@code control/shutdown} (drivers/xen/manage.c): "poweroff", "halt", "reboot" and "crash" shut the
 * domain down with the matching reason; "suspend" runs do_suspend (see {@link #doSuspend}); and on
 * {@code control/sysrq} (manage.c's sysrq_handler, xl sysrq): the magic SysRq keys a PV guest has no keyboard
 * for (see {@link #sysrq}). Subclasses add drivers in {@link #run}.
 */
public class StandardKernel implements GuestKernel {
    private final CountDownLatch stop = new CountDownLatch(1);
    private final AtomicReference<ShutdownReason> reason = new AtomicReference<>();
    private final KernelLog log = new KernelLog();
    private volatile Hypercalls hc;
    private volatile Kernel kernel;
    /** Set when the domain was destroyed while suspended (saved, migrated away): nothing is left to shut down. */
    private volatile boolean gone;
    /**
     * Set by SysRq b and c: the domain goes down with its drivers as they are (Linux's emergency_restart and
     * panic reach the hypervisor without shutting devices down), so its backends see the domain die, not a
     * frontend closing.
     */
    private volatile boolean emergency;
    /** Set once the kernel stops waiting for a shutdown: its store connection may close under a late watch. */
    private volatile boolean ending;
    /** Room left in the record's area for the log, after modules and workloads. */
    private static final int RECORD_LOG_SHARE = 2;

    @Override
    public final void boot(Hypercalls hc, String[] args) throws Exception {
        hc.setEventHandler(port -> {}, Delivery.BLOCKING);
        attachConsole(hc, log);
        try (XsClient xs = XenbusComms.open(hc)) {
            log.printk("Booting jxen kernel on domain " + hc.domid() + " (" + getClass().getSimpleName() + ")");
            // A kernel started for a restored domain finds the record its predecessor wrote at suspend.
            Map<String, byte[]> record = KernelRecord.read(KernelRecord.area(hc.memory()));
            if (record != null) {
                log.restore(Kernel.recordedLog(record));
                log.printk("xen:manage: resuming from the kernel record of domain "
                        + new String(record.getOrDefault(Kernel.REC_DOMID, new byte[0]), java.nio.charset.StandardCharsets.UTF_8)
                        + " (" + record.size() + " sections)");
            }
            Kernel kernel = newKernel(hc, xs, log, CommandLine.of(List.of(args)));
            if (record != null) kernel.resuming(record);
            this.hc = hc;
            this.kernel = kernel;
            xs.watch("control/shutdown", "shutdown", (path, token) -> onShutdownRequest(xs));
            xs.watch("control/sysrq", "sysrq", (path, token) -> onSysrq(xs));
            CpuHotplug.start(hc, xs, log);
            run(kernel, args);
            if (record != null) {
                kernel.resumeFrom(record);
                KernelRecord.clear(KernelRecord.area(hc.memory()));
                log.printk("xen:manage: resumed in a new domain, devices reconnecting");
            }
            // As Linux's setup_shutdown_watcher, once the boot's modules are in: the toolstack made these nodes
            // ours (libxl's rwperm), and takes feature-poweroff as the end of boot (xl create waits for it), so a
            // kernel that panics loading its modules never announces it. One we may not write is logged, not
            // fatal (Linux's pr_err); the toolstack then just does not see the feature.
            // Sent together: the same three WRITEs in Linux's order, one round trip instead of three.
            java.util.SequencedMap<String, String> features = new java.util.LinkedHashMap<>();
            for (String f : new String[] {"feature-poweroff", "feature-reboot", "feature-suspend"}) {
                features.put("control/" + f, "1");
            }
            xs.writeAll(features).forEach((path, e) -> log.printk("xenbus: error writing " + path + ": " + e.getMessage()));
            boolean destroyed = false;
            try {
                stop.await();
            } catch (InterruptedException e) {
                destroyed = true;
            }
            ending = true;
            if (destroyed || gone) {
                // The host destroyed the domain (an in-process guest's thread is interrupted, as a guest process
                // is killed), running or suspended (saved, migrated away: its copy lives on elsewhere): nobody is
                // left to talk to. One path either way, whichever of the interrupt and the failed suspend
                // hypercall comes first: workloads end where they are, and what lives outside the domain's
                // memory (threads, TAP devices, the network namespace) goes.
                log.printk(gone ? "domain destroyed while suspended" : "domain destroyed");
                kernel.abandonWorkloads();
                kernel.killed();
                return;
            }
            if (emergency) {
                // What lives outside the domain's memory goes quietly; the console is flushed below, then the
                // hypercall.
                kernel.abandonWorkloads();
                kernel.killed();
            } else {
                kernel.unloadAll();
                // kernel/reboot.c's lines: kernel_power_off's and kernel_restart's.
                ShutdownReason r = reason.get();
                log.printk("reboot: " + (r == ShutdownReason.POWEROFF ? "Power down" : r == ShutdownReason.REBOOT
                        ? "Restarting system" : r));
            }
        } catch (Exception e) {
            // Linux's line; the message, not a Java class name: xl create shows it to the user.
            log.printk("Kernel panic - not syncing: " + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
            throw e;
        } finally {
            detachConsole();
        }
        ShutdownReason r = reason.get();
        if (gone) return;
        if (r != ShutdownReason.POWEROFF) hc.shutdown(r);
    }

    /**
     * do_suspend (drivers/xen/manage.c): the frontends' suspend callbacks, store events held (xs_suspend), then
     * the suspend hypercall. It returns 1 when the toolstack cancelled the suspend (a checkpoint, a failed save
     * or migration): the drivers keep their connections and held events run (xenbus_dev_cancel,
     * xs_suspend_cancel). It returns 0 when the domain resumed as a new one: every frontend reads its backend
     * again and reconnects (xenbus_dev_resume). A domain destroyed while suspended (saved, migrated away) never
     * returns here.
     */
    private void doSuspend() {
        Kernel k = kernel;
        try {
            if (!k.freezeWorkloads()) return;
        } catch (InterruptedException e) {
            return;
        }
        log.printk("xen:manage: suspending xenbus devices");
        k.xenbus().frontend().suspend();
        // What the kernel holds besides its memory goes into its memory, so that the saved pages carry it.
        MemorySegment area = KernelRecord.area(hc.memory());
        KernelRecord.write(area, k.record((int) area.byteSize() / RECORD_LOG_SHARE));
        int cancelled;
        try {
            cancelled = hc.suspend();
        } catch (HypercallException e) {
            // Destroyed while suspended: its copy lives on in a save image or on another host.
            gone = true;
            stop.countDown();
            return;
        }
        KernelRecord.clear(area);
        if (cancelled != 0) {
            k.xenbus().frontend().suspendCancelled();
            log.printk("xen:manage: suspend cancelled, devices kept");
        } else {
            k.xenbus().frontend().resume();
            log.printk("xen:manage: resumed in a new domain, devices reconnecting");
        }
        k.thawWorkloads();
    }

    /** Where the kernel log goes besides memory: a console driver overrides this to write the console ring. */
    protected void attachConsole(Hypercalls hc, KernelLog log) throws Exception {}

    /** Called as the kernel stops (shutdown or panic): a console driver flushes what is still queued. */
    protected void detachConsole() {}

    /**
     * The kernel object drivers see; by default its modules are those of the booting thread's class loader.
     * {@code cmdline} is the command line early boot code reads (the event-channel ABI).
     */
    protected Kernel newKernel(Hypercalls hc, XsClient xs, KernelLog log, CommandLine cmdline) {
        return new Kernel(hc, xs, log, ModuleDirectory.of(Kernel.contextLoader()), cmdline);
    }

    /** The guest's own work (loading modules), after XenStore is up; returns while the guest keeps running. */
    protected void run(Kernel kernel, String[] args) throws Exception {}

    /**
     * sysrq_handler: read {@code control/sysrq} and clear it in one transaction (retried on a conflict), then act
     * on the key. The watch fires once when it is set and again for our own clearing, which reads empty.
     */
    private void onSysrq(XsClient xs) {
        if (stop.getCount() == 0) return;
        char key;
        try {
            // The watch fires once as it is set, at every boot, and again for our own clearing: a plain read
            // answers those, so that a booting guest pays one request for it, not a transaction's three.
            String now = xs.readOrNull("control/sysrq");
            if (now == null || now.isEmpty()) return;
            key = xs.transaction(tx -> {
                String v = tx.readOrNull("control/sysrq");
                if (v == null || v.isEmpty()) return '\0';
                tx.write("control/sysrq", "");
                return v.charAt(0);
            });
        } catch (XenStoreException e) {
            if (e.error() != XsError.ENOENT && e.error() != XsError.EACCES) {
                log.printk("xen:manage: Error " + e.error() + " reading sysrq code in control/sysrq");
            }
            return;
        } catch (java.io.IOException e) {
            return; // the kernel is going away (see onShutdownRequest)
        }
        if (key != '\0') sysrq(key);
    }

    /** The SysRq keys jxen's kernel has, with Linux's help words, in Linux's order. */
    static final String SYSRQ_HELP = "sysrq: HELP : reboot(b) crash(c) show-memory-usage(m) poweroff(o) sync(s)";

    /**
     * handle_sysrq, with Linux's lines: b reboots at once and c panics (both without shutting the drivers down),
     * o powers off (the drivers shut down), s writes back every disk's cache, m shows the page allocator's
     * counts; any other key prints the help line, as Linux does for a key with no handler.
     */
    private void sysrq(char key) {
        switch (key) {
            case 'b' -> {
                log.printk("sysrq: Resetting");
                emergencyShutdown(ShutdownReason.REBOOT);
            }
            case 'c' -> {
                log.printk("sysrq: Trigger a crash");
                log.printk("Kernel panic - not syncing: sysrq triggered crash");
                emergencyShutdown(ShutdownReason.CRASH);
            }
            case 'o' -> {
                log.printk("sysrq: Power Off");
                reason.set(ShutdownReason.POWEROFF);
                stop.countDown();
            }
            case 's' -> {
                log.printk("sysrq: Emergency Sync");
                // Linux's emergency sync runs from a work queue and says when it is done.
                Thread.ofVirtual().name("d" + hc.domid() + "-sysrq-sync").start(this::emergencySync);
            }
            case 'm' -> {
                log.printk("sysrq: Show Memory");
                for (String l : kernel.showMem()) log.printk(l);
            }
            default -> log.printk(SYSRQ_HELP);
        }
    }

    private void emergencyShutdown(ShutdownReason r) {
        emergency = true;
        reason.set(r);
        stop.countDown();
    }

    /** Every disk's completed writes made durable (a flush each); a disk that fails says so. */
    private void emergencySync() {
        for (String name : kernel.disks().names()) {
            Disk d = kernel.disks().await(name).getNow(null);
            if (d == null || d.readOnly() || !d.flushSupported()) continue;
            try {
                d.flush().get(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                return;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                log.printk("sysrq: sync of " + name + " failed: " + (e.getCause() != null ? e.getCause().getMessage() : "timed out"));
            }
        }
        log.printk("Emergency Sync complete");
    }

    private void onShutdownRequest(XsClient xs) {
        if (stop.getCount() == 0) return;
        try {
            String v = xs.readOrNull("control/shutdown");
            if (v == null) return;
            ShutdownReason r = switch (v) {
                case "poweroff", "halt" -> ShutdownReason.POWEROFF;
                case "reboot" -> ShutdownReason.REBOOT;
                case "suspend" -> ShutdownReason.SUSPEND;
                case "crash" -> ShutdownReason.CRASH;
                default -> null;
            };
            if (r == null) return;
            // Acknowledge as Linux does, by clearing the request.
            xs.write("control/shutdown", "");
            log.printk("xenbus: shutdown requested: " + v);
            if (r == ShutdownReason.SUSPEND) {
                // do_suspend runs in a thread of its own, as Linux's in a kthread: resuming needs store events.
                // A platform thread: the suspend hypercall waits in FUTEX_WAIT, which would pin a virtual thread's
                // carrier for as long as the domain stays suspended.
                Thread.ofPlatform().daemon().name("d" + hc.domid() + "-suspend").start(this::doSuspend);
                return;
            }
            reason.set(r);
            stop.countDown();
        } catch (XenStoreException e) {
            // The toolstack removed our home while destroying us: nothing left to obey.
            if (e.error() != XsError.ENOENT && e.error() != XsError.EACCES) {
                System.getLogger("jxen.xenbus").log(System.Logger.Level.WARNING, "control/shutdown: " + e);
            }
        } catch (java.io.IOException e) {
            // A closed client is the kernel going away (destroyed, saved, migrated): nothing left to obey. The host
            // closes it before the kernel's thread learns that the domain is destroyed.
            if (!ending && !gone && xs.isOpen()) {
                System.getLogger("jxen.xenbus").log(System.Logger.Level.WARNING, "control/shutdown: " + e);
            }
        }
    }
}
