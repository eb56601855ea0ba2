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

    /**
     * A process's CPU time between two instants, read by the thread that waits for them (the bench's main
     * thread, which does nothing else meanwhile). With pid 0 nothing is measured.
     */
    static final class Window {
        private final long pid;
        private long ticks = -1;

        Window(long pid) {
            this.pid = pid;
        }

        /** Sleeps until {@code start}, reads, sleeps until {@code end}, reads (System.nanoTime instants). */
        void measure(long start, long end) throws InterruptedException {
            if (pid == 0) return;
            sleepUntil(start);
            long before = ticks(pid, true);
            sleepUntil(end);
            ticks = ticks(pid, true) - before;
        }

        private static void sleepUntil(long instant) throws InterruptedException {
            long left;
            while ((left = instant - System.nanoTime()) > 0) java.util.concurrent.TimeUnit.NANOSECONDS.sleep(left);
        }

        /** Microseconds of CPU per request over the window, NaN if not measured or nothing was done. */
        double perRequestMicros(long requests) {
            return ticks < 0 || requests <= 0 ? Double.NaN : microseconds(ticks) / requests;
        }
    }
}
