package org.jxen.bench;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How far apart the machine put two busy threads: the time for one cache line to go from one thread's core to the
 * other's and back (a ping-pong on one word, both threads spinning).
 *
 * <p>Why the benches print it: on the 2-vCPU VM this project is measured on, the host places the two vCPUs
 * differently from one minute to the next, and a split driver's data path moves every byte from one core to the
 * other. Measured there (session 6): ~45-90 ns, ~100-145 ns, and ~420 ns when the two vCPUs sit on different L3
 * domains. In the last placement blkback's copy into pages the guest has just read costs up to twice as much, while a
 * one-thread floor does not change, so a run is only comparable with runs of the same placement.
 */
public final class CacheLineRoundTrip {
    /** Above this, the two threads do not share an L3 (cross-die traffic on the machines measured so far). */
    private static final double CROSS_L3_NS = 250;

    private static final int CHUNKS = 7;
    private static final int TRIPS_PER_CHUNK = 20_000;
    private static final long DEADLINE_NS = 2_000_000_000L;

    private CacheLineRoundTrip() {}

    /**
     * The median round trip in nanoseconds over a few chunks, or NaN when the machine has one CPU or the peer thread
     * did not keep up (another load took the CPU for long); never blocks for more than about two seconds.
     */
    public static double measure() {
        return measure(CHUNKS, TRIPS_PER_CHUNK, DEADLINE_NS);
    }

    /** As {@link #measure()}, with {@code chunks} chunks of {@code trips} round trips and a deadline of its own. */
    static double measure(int chunks, int trips, long deadlineNs) {
        if (Runtime.getRuntime().availableProcessors() < 2) return Double.NaN;
        AtomicLong word = new AtomicLong();
        long deadline = System.nanoTime() + deadlineNs;
        Thread peer = Thread.ofPlatform().daemon().name("round-trip-peer").start(() -> {
            for (long v = 1; ; v += 2) {
                for (long w, spins = 0; (w = word.getAcquire()) != v; ) {
                    if (w < 0 || pastDeadline(++spins, deadline)) return;
                    Thread.onSpinWait();
                }
                word.setRelease(v + 1);
            }
        });
        try {
            double[] chunkNs = new double[chunks];
            long v = 0;
            for (int c = -1; c < chunks; c++) { // chunk -1 warms up
                long t0 = System.nanoTime();
                for (int i = 0; i < trips; i++, v += 2) {
                    word.setRelease(v + 1);
                    for (long spins = 0; word.getAcquire() != v + 2; ) {
                        if (pastDeadline(++spins, deadline)) return Double.NaN;
                        Thread.onSpinWait();
                    }
                }
                if (c >= 0) chunkNs[c] = (System.nanoTime() - t0) / (double) trips;
            }
            Arrays.sort(chunkNs);
            return chunkNs[chunks / 2];
        } finally {
            word.set(-1); // tells the peer to leave
            try {
                peer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Reads the clock once per 1024 spins: a clock read on every spin would lengthen the round trip it measures. */
    private static boolean pastDeadline(long spins, long deadline) {
        return (spins & 1023) == 0 && System.nanoTime() - deadline > 0;
    }

    /** Round trips measured before and after a bench's runs (the placement can change during them). */
    public record Placement(double startNs, double endNs) {
        /** Two lines for below a bench's targets. */
        public String lines() {
            return describe("at start", startNs) + describe("at end", endNs);
        }
    }

    private static String describe(String when, double ns) {
        if (Double.isNaN(ns)) return String.format(Locale.ROOT, "- cpu placement %s: not measured (one CPU, or the peer thread was held off)%n", when);
        return String.format(Locale.ROOT, "- cpu placement %s: cache-line round trip between two busy threads %.0f ns (%s)%n", when, ns,
                ns > CROSS_L3_NS ? "the two CPUs do not share an L3: cross-core copies are slower in this run" : "shared L3");
    }
}
