package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void smallValuesAreExact() {
        LatencyHistogram h = new LatencyHistogram();
        for (int v = 1; v <= 60; v++) h.record(v);
        assertThat(h.count()).isEqualTo(60);
        assertThat(h.percentile(50)).isEqualTo(30);
        assertThat(h.percentile(100)).isEqualTo(60);
        assertThat(h.percentile(0.1)).isEqualTo(1);
    }

    @Test
    void percentilesOfKnownDataAreWithinBucketPrecision() {
        LatencyHistogram h = new LatencyHistogram();
        for (int v = 1; v <= 1000; v++) h.record(v * 1000L); // 1 us .. 1 ms
        assertThat((double) h.percentile(50)).isCloseTo(500_000, withinPercentage(3.2));
        assertThat((double) h.percentile(99)).isCloseTo(990_000, withinPercentage(3.2));
        assertThat(h.percentile(100)).isEqualTo(1_000_000); // clamped to the exact maximum
    }

    @Test
    void aBimodalDistributionSplitsWhereTheDataDoes() {
        LatencyHistogram h = new LatencyHistogram();
        for (int i = 0; i < 980; i++) h.record(100_000);
        for (int i = 0; i < 20; i++) h.record(5_000_000);
        assertThat((double) h.percentile(50)).isCloseTo(100_000, withinPercentage(3.2));
        assertThat((double) h.percentile(98)).isCloseTo(100_000, withinPercentage(3.2));
        assertThat((double) h.percentile(99)).isCloseTo(5_000_000, withinPercentage(3.2));
    }

    @Test
    void mergingEqualsRecordingInOne() {
        LatencyHistogram a = new LatencyHistogram(), b = new LatencyHistogram(), all = new LatencyHistogram();
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 10_000; i++) {
            long v = r.nextLong(1, 50_000_000);
            (i % 2 == 0 ? a : b).record(v);
            all.record(v);
        }
        a.add(b);
        for (double p : new double[] {1, 50, 90, 99, 99.9, 100}) assertThat(a.percentile(p)).isEqualTo(all.percentile(p));
        assertThat(a.count()).isEqualTo(10_000);
    }

    @Test
    void emptyHistogramReportsZero() {
        assertThat(new LatencyHistogram().percentile(99)).isZero();
    }

    @Test
    void everyValueFallsInsideItsBucket() {
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 100_000; i++) {
            long v = i < 1000 ? i : r.nextLong(0, Long.MAX_VALUE);
            int b = LatencyHistogram.bucketOf(v);
            assertThat(LatencyHistogram.lowerBound(b)).isLessThanOrEqualTo(v);
            if (v < Long.MAX_VALUE / 2) assertThat(LatencyHistogram.lowerBound(b + 1)).isGreaterThan(v);
        }
        assertThat(LatencyHistogram.bucketOf(Long.MAX_VALUE)).isLessThan(2000);
    }
}
