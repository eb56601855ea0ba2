package org.jxen.toolstack;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code xl info}: the host's facts in xl's order and with xl's names (xl_info.c), each value what this host
 * really has: the machine's node name, kernel and CPUs (this host's are the physical ones its domains run on),
 * its memory in MiB, and the hypervisor's own version and parameters. Fields that describe hardware jxen does
 * not model (hw_caps, sharing) read as Xen reads them with nothing there: zero.
 */
final class HostInfo {
    /** The Xen interface version jxen's tools follow (Debian's xenstore-utils 4.17). */
    static final int XEN_MAJOR = 4;
    static final int XEN_MINOR = 17;
    static final String XEN_EXTRA = "-jxen";

    private HostInfo() {}

    /**
     * Xen's free_memory: what no domain holds, the machine's memory less every domain's xl list Mem (a guest's
     * tot_pages, so a guest's creation and its balloon move it by what they take or give; dom0's, the host
     * process's resident memory). Not the Linux host's MemFree, which a guest's sparse memory hardly touches.
     */
    static long free(Host host, long totalMiB) {
        long heldKiB = 0;
        try {
            for (org.jxen.hypervisor.DomainInfo d : host.dom0().domainControl().list()) heldKiB += DomainRequests.memoryKiB(d);
        } catch (org.jxen.hypervisor.HypercallException e) {
            return totalMiB; // dom0 is always privileged; a failure here means no domains to count
        }
        return Math.max(0, totalMiB - heldKiB / 1024);
    }

    /** Name and value pairs, in xl info's order. */
    static List<String[]> fields(Host host) {
        List<String[]> f = new ArrayList<>();
        int cpus = Runtime.getRuntime().availableProcessors();
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long total = os.getTotalMemorySize() >> 20;
        long free = free(host, total);
        add(f, "host", proc("/proc/sys/kernel/hostname", "localhost"));
        add(f, "release", System.getProperty("os.version"));
        add(f, "version", proc("/proc/sys/kernel/version", ""));
        add(f, "machine", machine());
        add(f, "nr_cpus", cpus);
        add(f, "max_cpu_id", cpus - 1);
        add(f, "nr_nodes", 1);
        add(f, "cores_per_socket", cpus);
        add(f, "threads_per_core", 1);
        add(f, "cpu_mhz", cpuMhz());
        add(f, "hw_caps", "00000000:00000000:00000000:00000000:00000000:00000000:00000000:00000000");
        // xl prints the flags each after a space, right after the colon.
        f.add(new String[] {"virt_caps", "pv gnttab-v1"});
        add(f, "total_memory", total);
        add(f, "free_memory", free);
        add(f, "sharing_freed_memory", 0);
        add(f, "sharing_used_memory", 0);
        add(f, "outstanding_claims", 0);
        add(f, "free_cpus", 0);
        add(f, "xen_major", XEN_MAJOR);
        add(f, "xen_minor", XEN_MINOR);
        add(f, "xen_extra", XEN_EXTRA);
        add(f, "xen_version", XEN_MAJOR + "." + XEN_MINOR + XEN_EXTRA);
        add(f, "xen_caps", "xen-3.0-x86_64");
        add(f, "xen_scheduler", "unknown");
        add(f, "xen_pagesize", 4096);
        add(f, "platform_params", "virt_start=0x0");
        add(f, "xen_changeset", "unavailable");
        add(f, "xen_commandline", System.getProperty("sun.java.command", ""));
        add(f, "cc_compiler", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        add(f, "cc_compile_by", "jxen");
        add(f, "cc_compile_domain", "");
        add(f, "cc_compile_date", "");
        add(f, "build_id", "");
        add(f, "xend_config_format", 4);
        return f;
    }

    private static void add(List<String[]> f, String name, Object value) {
        f.add(new String[] {name, String.valueOf(value)});
    }

    private static String machine() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64" -> "x86_64";
            case "x86" -> "i686";
            default -> arch;
        };
    }

    private static String proc(String file, String dflt) {
        try {
            return Files.readString(Path.of(file)).strip();
        } catch (IOException | RuntimeException e) {
            return dflt;
        }
    }

    /** The first CPU's clock from /proc/cpuinfo, as xl's %d.%03d of cpu_khz. */
    private static String cpuMhz() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("cpu MHz")) {
                    double mhz = Double.parseDouble(l.substring(l.indexOf(':') + 1).strip());
                    long khz = Math.round(mhz * 1000);
                    return String.format("%d.%03d", khz / 1000, khz % 1000);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no clock given (some virtual machines): xl would print what Xen measured
        }
        return "0.000";
    }
}
