package org.jxen.bench;

/**
 * Log-bucketed latency histogram in nanoseconds: exact below 64 ns, then 32 buckets per power of two (at most
 * about 3% relative error), covering every non-negative long in under 2,000 counters. Recording is allocation
 * free, so a connection thread can record every request; per-thread histograms are merged afterwards.
 */
public final class LatencyHistogram {
    private static final int SUB_BITS = 5;
    private static final int SUB_COUNT = 1 << SUB_BITS;
    /** Values below this are their own bucket. */
    private static final int EXACT_LIMIT = 2 * SUB_COUNT;
    private static final int BUCKETS = bucketOf(Long.MAX_VALUE) + 1;

    private final long[] counts = new long[BUCKETS];
    private long total;
    private long min = Long.MAX_VALUE;
    private long max = Long.MIN_VALUE;

    public void record(long nanos) {
        long v = Math.max(0, nanos);
        counts[bucketOf(v)]++;
        total++;
        min = Math.min(min, v);
        max = Math.max(max, v);
    }

    public void add(LatencyHistogram other) {
        for (int i = 0; i < BUCKETS; i++) counts[i] += other.counts[i];
        total += other.total;
        min = Math.min(min, other.min);
        max = Math.max(max, other.max);
    }

    public long count() {
        return total;
    }

    /**
     * The value at percentile {@code p} (0 < p <= 100): the smallest recorded value such that at least p% of
     * the recordings are at or below it, reported as its bucket's midpoint and clamped to the exact min and max.
     * 0 when nothing was recorded.
     */
    public long percentile(double p) {
        if (total == 0) return 0;
        long rank = Math.max(1, (long) Math.ceil(p / 100.0 * total));
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts[i];
            if (seen >= rank) return Math.clamp(midpoint(i), min, max);
        }
        return max;
    }

    static int bucketOf(long v) {
        if (v < EXACT_LIMIT) return (int) v;
        int shift = 63 - Long.numberOfLeadingZeros(v) - SUB_BITS;
        return shift * SUB_COUNT + (int) (v >>> shift);
    }

    static long lowerBound(int bucket) {
        if (bucket < EXACT_LIMIT) return bucket;
        int shift = bucket / SUB_COUNT - 1;
        return (long) (bucket % SUB_COUNT + SUB_COUNT) << shift;
    }

    private static long midpoint(int bucket) {
        if (bucket < EXACT_LIMIT) return bucket;
        long width = 1L << (bucket / SUB_COUNT - 1);
        return lowerBound(bucket) + (width - 1) / 2;
    }
}
