package org.jxen.bench;

/**
 * Runs one operation back to back for a warm-up and then a measured window, timing each call. Shared by the host
 * and the benchmark guest kernel, so an in-process and a cross-process measurement differ only in where it runs.
 */
final class TimedLoop {
    private TimedLoop() {
    }

    /** One operation; returns how many of its parts failed (0 = success). */
    @FunctionalInterface
    interface Op {
        long run() throws Exception;
    }

    /** Count and errors of the measured window, its length, and the per-call latency percentiles. */
    record Result(long count, long errors, long nanos, long p50Nanos, long p99Nanos) {
        double seconds() {
            return nanos / 1e9;
        }
    }

    static Result run(double warmupSeconds, double seconds, Op op) {
        long end = System.nanoTime() + (long) (warmupSeconds * 1e9);
        while (System.nanoTime() < end) call(op);
        LatencyHistogram h = new LatencyHistogram();
        long count = 0;
        long errors = 0;
        long start = System.nanoTime();
        end = start + (long) (seconds * 1e9);
        long now = start;
        while (now < end) {
            long t = now;
            errors += call(op);
            now = System.nanoTime();
            h.record(now - t);
            count++;
        }
        return new Result(count, errors, now - start, h.percentile(50), h.percentile(99));
    }

    private static long call(Op op) {
        try {
            return op.run();
        } catch (Exception e) {
            // Counted, not thrown: a failing hypercall is a result of the benchmark, reported as an error.
            return 1;
        }
    }
}
