package org.jxen.kernel.userland;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** blkbench's progress in the exec record: what goes in comes out, and damaged bytes are refused. */
class BlkBenchProgressTest {
    private static final BlkBench.Progress P = new BlkBench.Progress(0, 4_500_000_000L, 5_500_000_000L, 123_456, 2,
            -7_046_029_254_386_353_131L, 99, new long[][] {{0, 1}, {700, 123_000}, {64 * 32 - 1, 455}});

    @Test
    void itComesBackAsItWent() {
        BlkBench.Progress back = BlkBench.Progress.decode(P.encode());
        assertThat(back.warmupLeftNs()).isZero();
        assertThat(back.measureLeftNs()).isEqualTo(4_500_000_000L);
        assertThat(back.measuredNs()).isEqualTo(5_500_000_000L);
        assertThat(back.ops()).isEqualTo(123_456);
        assertThat(back.errors()).isEqualTo(2);
        assertThat(back.rng()).as("any 64-bit state").isEqualTo(-7_046_029_254_386_353_131L);
        assertThat(back.cursor()).isEqualTo(99);
        assertThat(back.histogram()).isDeepEqualTo(P.histogram());
    }

    @Test
    void cutAnywhereOrWithABadBucketItIsRefused() {
        byte[] whole = P.encode();
        for (int n = 0; n < whole.length; n++) {
            byte[] cut = Arrays.copyOf(whole, n);
            assertThatThrownBy(() -> BlkBench.Progress.decode(cut)).as("cut at " + n).isInstanceOf(IllegalStateException.class);
        }
        byte[] longer = Arrays.copyOf(whole, whole.length + 1);
        assertThatThrownBy(() -> BlkBench.Progress.decode(longer)).isInstanceOf(IllegalStateException.class);
        byte[] badBucket = whole.clone();
        badBucket[7 * 8 + 4] = (byte) 0xFF; // the first bucket's index: 0xFF00, past the histogram
        assertThatThrownBy(() -> BlkBench.Progress.decode(badBucket)).isInstanceOf(IllegalStateException.class);
    }
}
