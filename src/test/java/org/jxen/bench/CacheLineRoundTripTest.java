package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CacheLineRoundTripTest {
    @Test
    void measuresARoundTripOrSaysItCouldNotAndLeavesNoThreadBehind() {
        // Few trips and a long deadline: a loaded machine (other builds, CI) may hold the peer off for a while,
        // but 600 round trips still finish; only a broken probe gives NaN here.
        double ns = CacheLineRoundTrip.measure(3, 200, 120_000_000_000L);

        if (Runtime.getRuntime().availableProcessors() < 2) {
            assertThat(ns).isNaN();
        } else {
            assertThat(ns).isPositive().isLessThan(120e9 / 600);
        }
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("round-trip-peer"));
    }

    @Test
    void aPeerThatCannotKeepUpWithTheDeadlineGivesNaNAndLeaves() {
        double ns = CacheLineRoundTrip.measure(7, 20_000, 1);

        assertThat(ns).isNaN();
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("round-trip-peer"));
    }

    @Test
    void linesNameBothMeasurementsAndTheL3TheyImply() {
        String lines = new CacheLineRoundTrip.Placement(123.4, 431.0).lines();

        assertThat(lines).isEqualTo("""
                - cpu placement at start: cache-line round trip between two busy threads 123 ns (shared L3)
                - cpu placement at end: cache-line round trip between two busy threads 431 ns (the two CPUs do not \
                share an L3: cross-core copies are slower in this run)
                """);
        assertThat(new CacheLineRoundTrip.Placement(Double.NaN, 90).lines())
                .startsWith("- cpu placement at start: not measured (one CPU, or the peer thread was held off)\n");
    }
}
