package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CacheLineRoundTripTest {
    @Test
    void measuresARoundTripOrSaysItCouldNotAndLeavesNoThreadBehind() {
        double ns = CacheLineRoundTrip.measure();

        if (Runtime.getRuntime().availableProcessors() < 2) {
            assertThat(ns).isNaN();
        } else { // the 2 s deadline is far beyond any scheduling delay, so a NaN here is a broken probe
            assertThat(ns).isPositive().isLessThan(2e9 / 20_000);
        }
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
