package org.jxen.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time of processes from /proc/PID/stat, in clock ticks (user + system, and the same of children already
 * waited for, so a process that ends inside the measured window still counts). Linux only; a process that
 * vanishes between listing and reading counts 0.
 */
final class Cpu {
    /** USER_HZ: /proc reports times in these. */
    static final long TICKS_PER_SECOND = 100;

    @FunctionalInterface
    interface Ticks {
        long now();
    }

    private Cpu() {}

    static double microseconds(long ticks) {
        return ticks * 1_000_000.0 / TICKS_PER_SECOND;
    }

    /** The process {@code root} and every live descendant: own time and their waited-for children's. */
    static long treeTicks(long root) {
        long sum = ticks(root, true);
        for (ProcessHandle d : ProcessHandle.of(root).map(h -> h.descendants().toList()).orElse(java.util.List.of())) {
            sum += ticks(d.pid(), true);
        }
        return sum;
    }

    /** The descendants of {@code root} (live, and waited for by it), without {@code root}'s own time. */
    static long childrenTicks(long root) {
        long sum = ticks(root, false);
        for (ProcessHandle d : ProcessHandle.of(root).map(h -> h.descendants().toList()).orElse(java.util.List.of())) {
            sum += ticks(d.pid(), true);
        }
        return sum;
    }

    /** utime + stime (if {@code own}) + cutime + cstime of one process. */
    static long ticks(long pid, boolean own) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // f[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17
            long children = Long.parseLong(f[13]) + Long.parseLong(f[14]);
            return children + (own ? Long.parseLong(f[11]) + Long.parseLong(f[12]) : 0);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
