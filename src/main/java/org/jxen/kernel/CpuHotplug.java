package org.jxen.kernel;

import java.io.IOException;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.client.XsClient;

/**
 * Linux's drivers/xen/cpu_hotplug.c with the part udev plays: the toolstack's {@code cpu/N/availability}
 * ({@code online} or {@code offline}; libxl writes one per vCPU the domain may have, xl vcpu-set changes them)
 * decides which of the domain's vCPUs are up. At boot (a fresh domain, or a restored one, whose vCPUs start down
 * but for vCPU 0) every possible vCPU the store says is online is brought up (VCPUOP_up); then a watch on
 * {@code cpu} brings one up or takes it down as its node changes. The possible vCPUs are counted as a Xen PV
 * kernel counts them: VCPUOP_is_up until ENOENT. vCPU 0 runs the kernel and is never taken down (Linux's PV CPU 0
 * is not hotpluggable either).
 */
final class CpuHotplug {
    private final Hypercalls hc;
    private final XsClient xs;
    private final KernelLog log;
    private final int possible;

    private CpuHotplug(Hypercalls hc, XsClient xs, KernelLog log, int possible) {
        this.hc = hc;
        this.xs = xs;
        this.log = log;
        this.possible = possible;
    }

    /**
     * Brings up what the store says is online and watches it. A domain of one vCPU has nothing to hotplug: it
     * says nothing and sets no watch (Linux sets one anyway; a thousand guests booting need not each send it).
     */
    static CpuHotplug start(Hypercalls hc, XsClient xs, KernelLog log) throws IOException {
        CpuHotplug c = new CpuHotplug(hc, xs, log, possibleVcpus(hc));
        if (c.possible == 1) return c;
        // The watch first, then the scan (setup_cpu_watcher's order): a change in between is not missed.
        xs.watch("cpu", "cpu", (path, token) -> c.onChange(path));
        log.printk("smp: Bringing up secondary CPUs ...");
        for (int cpu = 1; cpu < c.possible; cpu++) c.apply(cpu, false);
        int up = 0;
        for (int cpu = 0; cpu < c.possible; cpu++) if (c.isUp(cpu)) up++;
        log.printk("smp: Brought up 1 node, " + up + " CPU" + (up == 1 ? "" : "s"));
        return c;
    }

    /** xen_fill_possible_map: VCPUOP_is_up answers for every vCPU the domain has, ENOENT past the last. */
    private static int possibleVcpus(Hypercalls hc) {
        int n = 1;
        try {
            while (n < org.jxen.hypervisor.Hypervisor.MAX_VCPUS) {
                hc.vcpuOp(Hypercalls.VCPUOP_IS_UP, n);
                n++;
            }
        } catch (HypercallException e) {
            // ENOENT: n is the count
        }
        return n;
    }

    /** handle_vcpu_hotplug_event: a change under cpu/ names the vCPU after "cpu/". */
    private void onChange(String path) {
        int at = path.indexOf("cpu/");
        if (at < 0) return;
        String rest = path.substring(at + 4);
        int end = 0;
        while (end < rest.length() && Character.isDigit(rest.charAt(end))) end++;
        if (end == 0 || end > 4) return;
        int cpu = Integer.parseInt(rest.substring(0, end));
        if (cpu == 0 || cpu >= possible) return;
        try {
            apply(cpu, true);
        } catch (IOException e) {
            // The kernel is going away (its store connection closed); nothing left to bring up.
        }
    }

    /** vcpu_hotplug: up or down as {@code cpu/N/availability} says; another word is Linux's error line. */
    private synchronized void apply(int cpu, boolean saySo) throws IOException {
        String state;
        try {
            state = xs.readOrNull("cpu/" + cpu + "/availability");
        } catch (XenStoreException e) {
            return;
        }
        if (state == null) return;
        try {
            switch (state) {
                case "online" -> {
                    if (!isUp(cpu)) {
                        hc.vcpuOp(Hypercalls.VCPUOP_UP, cpu);
                        if (saySo) log.printk("CPU" + cpu + " is up");
                    }
                }
                case "offline" -> {
                    if (isUp(cpu)) {
                        hc.vcpuOp(Hypercalls.VCPUOP_DOWN, cpu);
                        log.printk("smpboot: CPU " + cpu + " is now offline");
                    }
                }
                default -> log.printk("unknown state(" + state + ") on CPU" + cpu);
            }
        } catch (HypercallException e) {
            if (e.errno() != Errno.ENOENT) log.printk("xen: vCPU " + cpu + ": " + e.getMessage());
        }
    }

    private boolean isUp(int cpu) {
        try {
            return hc.vcpuOp(Hypercalls.VCPUOP_IS_UP, cpu) == 1;
        } catch (HypercallException e) {
            return false;
        }
    }
}
