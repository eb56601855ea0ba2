package org.jxen.toolstack;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.MapCount;
import org.jxen.libc.Rlimits;

/**
 * What a host can hold on this machine, said once at start: for each resource a guest uses (dom0's event-channel
 * ports, memory, open files, memory mappings, threads) how many guests it allows, and the first limit a growing
 * host will meet. Raises the process's soft limit on open files to the hard one first, as a dom0's init does.
 *
 * <p>Per guest (docs/host.md, "Limits"): two dom0 ports (xenstore, console) and one per device; its memory in
 * the run directory's tmpfs; an in-process guest one open file (its console log), three domain files mapped and one
 * platform thread (two mappings for its stack), and about one mapping per device in dom0; a guest in its own JVM
 * about 30 threads and a few files.
 */
public final class HostCapacity {
    /** One resource: what there is, and how many guests of the stated kind it allows. */
    public record Resource(String name, String amount, long guests) {}

    /**
     * An in-process guest's descriptors: its console log (xenconsoled's); its memory's write tracker is only made
     * for a live migration.
     */
    static final int FILES_PER_GUEST = 1;
    /**
     * An in-process guest's mappings in the host process, counted at 3,336 booted guests (57,129 mappings): the
     * hypervisor's memory, grant table and event files (3); the guest's own view of them (4) and of dom0's event
     * state (about 3); dom0's view of the guest's event state (3); the xenstore and console pages (2); its event
     * thread's stack (2). Plus one per device, the backend's ring.
     */
    static final int MAPS_PER_GUEST = 17;

    private final List<Resource> resources;
    private final String raised;

    private HostCapacity(List<Resource> resources, String raised) {
        this.resources = List.copyOf(resources);
        this.raised = raised;
    }

    /** Measures this machine for guests of {@code guestMiB} with {@code devices} devices each. */
    public static HostCapacity measure(Path runDir, int guestMiB, int devices) {
        long[] before = Rlimits.get(Rlimits.RLIMIT_NOFILE);
        long[] files = Rlimits.raiseSoftToHard(Rlimits.RLIMIT_NOFILE);
        String raised = before != null && files != null && files[0] != before[0]
                ? "raised the open-files limit from " + before[0] + " to " + limit(files[0]) : null;
        List<Resource> r = new ArrayList<>();
        int dom0Ports = Hypervisor.MAX_PORTS - 1;
        r.add(new Resource("dom0 ports", Integer.toString(dom0Ports), dom0Ports / (2 + devices)));
        long memMiB = Math.min(memAvailableMiB(), shmFreeMiB(runDir));
        r.add(new Resource("memory", memMiB + " MiB", memMiB / Math.max(1, guestMiB)));
        if (files != null) {
            long open = openFiles();
            long left = files[0] == Rlimits.INFINITY ? Long.MAX_VALUE : Math.max(0, files[0] - open);
            r.add(new Resource("open files", limit(files[0]), left / FILES_PER_GUEST));
        }
        long maps = Math.max(0, MapCount.limit() - MapCount.used());
        r.add(new Resource("vm.max_map_count", Long.toString(MapCount.systemLimit()), maps / (MAPS_PER_GUEST + devices)));
        long threads = threadsLeft();
        r.add(new Resource("threads", threads + " free", threads));
        return new HostCapacity(r, raised);
    }

    public List<Resource> resources() {
        return resources;
    }

    /** The resource that runs out first. */
    public Resource first() {
        return resources.stream().min(Comparator.comparingLong(Resource::guests)).orElseThrow();
    }

    /** The lines the host prints at start. */
    public List<String> lines(int guestMiB, int devices) {
        List<String> out = new ArrayList<>();
        if (raised != null) out.add(raised);
        StringBuilder sb = new StringBuilder("room for about " + first().guests() + " in-process guests of " + guestMiB
                + " MiB with " + devices + " device" + (devices == 1 ? "" : "s") + " each (first limit: " + first().name() + "):");
        for (Resource x : resources) sb.append(' ').append(x.name()).append(' ').append(x.amount()).append(" -> ").append(x.guests()).append(',');
        sb.setLength(sb.length() - 1);
        out.add(sb.toString());
        return out;
    }

    private static String limit(long l) {
        return l == Rlimits.INFINITY ? "unlimited" : Long.toString(l);
    }

    private static long memAvailableMiB() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("MemAvailable:")) return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through to what the JVM knows
        }
        return Runtime.getRuntime().maxMemory() >> 20;
    }

    /** Free space where domain memory lives (a tmpfs that is full makes a guest's next page a SIGBUS). */
    private static long shmFreeMiB(Path runDir) {
        for (Path p : List.of(Path.of("/dev/shm"), runDir)) {
            try {
                FileStore fs = Files.getFileStore(p);
                return fs.getUsableSpace() >> 20;
            } catch (IOException | RuntimeException e) {
                // try the next
            }
        }
        return Long.MAX_VALUE;
    }

    private static long openFiles() {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** Threads this process may still start: the least of threads-max, pid_max and RLIMIT_NPROC, less those in use. */
    private static long threadsLeft() {
        long max = Math.min(sysctl("/proc/sys/kernel/threads-max"), sysctl("/proc/sys/kernel/pid_max"));
        long[] nproc = Rlimits.get(Rlimits.RLIMIT_NPROC);
        // root is not held to RLIMIT_NPROC.
        boolean root = "root".equals(System.getProperty("user.name"));
        if (nproc != null && nproc[0] != Rlimits.INFINITY && !root) max = Math.min(max, nproc[0]);
        long inUse = sysctlCount("/proc/loadavg");
        return Math.max(0, max - inUse);
    }

    private static long sysctl(String file) {
        try {
            try (var in = Files.newInputStream(Path.of(file))) {
                // Not Files.readString: some kernels report a size for sysctl files that cuts it short.
                return Long.parseLong(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).strip());
            }
        } catch (IOException | RuntimeException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The machine's threads now: the fourth field of /proc/loadavg is running/total. */
    private static long sysctlCount(String loadavg) {
        try {
            String f = Files.readString(Path.of(loadavg)).split("\\s+")[3];
            return Long.parseLong(f.substring(f.indexOf('/') + 1));
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
