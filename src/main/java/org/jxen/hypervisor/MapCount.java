package org.jxen.hypervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * This process's budget of memory mappings (vm.max_map_count is per process). Every domain file jxen maps and
 * every granted page a backend maps is one mapping; a host with thousands of guests reaches the kernel's limit
 * (65530 by default) long before memory runs out. When the kernel refuses an mmap, the JVM's own next mapping
 * (a thread's stack, heap growth) may fail too and take the whole host down; so jxen keeps a headroom the JVM
 * needs and refuses its own next mapping first, with ENOMEM, failing only the domain or device that asked.
 *
 * <p>The budget is vm.max_map_count less the mappings the process had when jxen first mapped something less
 * {@link #HEADROOM}; the system property {@code jxen.maxMappings} sets it directly instead (docs/hypervisor.md).
 */
public final class MapCount {
    /**
     * Mappings kept free for the JVM: its own threads' stacks (two each), heap and code-cache growth, direct
     * buffers. The domains' event threads are counted in the budget instead ({@link #THREAD}), one per domain.
     */
    static final int HEADROOM = 8192;
    /** A platform thread's mappings: its stack and the guard page below it. */
    static final int THREAD = 2;
    private static final AtomicLong used = new AtomicLong();
    private static volatile long limit = -1;

    private MapCount() {}

    /** The budget is spent: the caller's mapping was not made. */
    public static final class Exhausted extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Exhausted(long limit) {
            super("no mapping left: jxen's " + limit + " mappings are in use (vm.max_map_count "
                    + systemLimit() + "; see docs/hypervisor.md)");
        }
    }

    /** Takes one mapping from the budget, or throws {@link Exhausted}. */
    static void reserve() {
        reserve(1);
    }

    /** Takes {@code n} mappings from the budget, or none and throws {@link Exhausted}. */
    static void reserve(int n) {
        long max = limit();
        if (used.addAndGet(n) > max) {
            used.addAndGet(-n);
            throw new Exhausted(max);
        }
    }

    static void release() {
        release(1);
    }

    static void release(int n) {
        used.addAndGet(-n);
    }

    /** Mappings jxen holds now. */
    public static long used() {
        return used.get();
    }

    /** The budget (computed on first use). */
    public static long limit() {
        long l = limit;
        if (l < 0) {
            synchronized (MapCount.class) {
                if (limit < 0) limit = budget();
                l = limit;
            }
        }
        return l;
    }

    private static long budget() {
        String set = System.getProperty("jxen.maxMappings");
        if (set != null) {
            try {
                return Math.max(0, Long.parseLong(set.strip()));
            } catch (NumberFormatException e) {
                System.getLogger("jxen.hypervisor").log(System.Logger.Level.WARNING,
                        "jxen.maxMappings=" + set + " is not a number; using the system's limit");
            }
        }
        return Math.max(0, systemLimit() - processMappings() - HEADROOM);
    }

    /** vm.max_map_count, or Linux's default when it cannot be read. */
    public static long systemLimit() {
        try {
            try (var in = Files.newInputStream(Path.of("/proc/sys/vm/max_map_count"))) {
                // Not Files.readString: some kernels report a size for sysctl files that cuts it short.
                return Long.parseLong(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).strip());
            }
        } catch (IOException | RuntimeException e) {
            return 65530;
        }
    }

    /** The mappings this process has now (lines of /proc/self/maps), 0 if unknown. */
    public static long processMappings() {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.count();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** The errno an mmap or open that failed with this exception reported, as far as Java's message says it. */
    static Errno errnoOf(Exception e) {
        String m = String.valueOf(e.getMessage()) + (e.getCause() != null ? " " + e.getCause().getMessage() : "");
        if (m.contains("Too many open files")) return Errno.EMFILE;
        if (m.contains("Cannot allocate memory") || m.contains("Map failed")) return Errno.ENOMEM;
        return Errno.EIO;
    }
}
