package org.jxen.kernel.userland;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.MessageDigest;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** sha256sum's own SHA-256 against the JDK's, its state carried over at every split point as a restore carries it. */
class Sha256Test {

    private static byte[] jdk(byte[] data, int len) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(data, 0, len);
        return md.digest();
    }

    @Test
    void everyLengthUpTo200SplitAtEveryPointAndCarriedOverThroughItsStateMatchesMessageDigest() throws Exception {
        byte[] data = new byte[200];
        new Random(256).nextBytes(data);
        for (int len = 0; len <= 200; len++) {
            byte[] expected = jdk(data, len);
            for (int split = 0; split <= len; split++) {
                Sha256 first = new Sha256();
                first.update(data, 0, split);
                Sha256 second = Sha256.of(first.state());
                assertThat(second.count()).isEqualTo(split);
                second.update(data, split, len - split);
                assertThat(second.digest()).as("length %d split at %d", len, split).isEqualTo(expected);
                assertThat(first.digest()).as("a digest leaves the state alone").isEqualTo(first.digest());
            }
        }
    }

    @Test
    void aFewMiBInChunksOfEverySizeCarriedOverAtEveryChunkBoundaryMatchesMessageDigest() throws Exception {
        byte[] data = new byte[(3 << 20) + 77];
        new Random(3).nextBytes(data);
        byte[] expected = jdk(data, data.length);
        for (int chunk : new int[] {1 << 20, 65536, 4096, 4093, 64, 63, 1}) {
            if (chunk == 1) data = java.util.Arrays.copyOf(data, 100_003); // byte by byte: a shorter input
            byte[] want = chunk == 1 ? jdk(data, data.length) : expected;
            Sha256 s = new Sha256();
            for (int off = 0; off < data.length; off += chunk) {
                s.update(data, off, Math.min(chunk, data.length - off));
                s = Sha256.of(s.state());
            }
            assertThat(s.count()).isEqualTo(data.length);
            assertThat(s.digest()).as("chunks of %d", chunk).isEqualTo(want);
        }
    }

    @Test
    void theEmptyInputHasTheKnownDigest() {
        assertThat(java.util.HexFormat.of().formatHex(new Sha256().digest()))
                .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    @Test
    void aStateOfTheWrongSizeOrANegativeCountIsRefused() {
        assertThatThrownBy(() -> Sha256.of(new byte[Sha256.STATE_BYTES - 1])).isInstanceOf(IllegalStateException.class);
        byte[] bad = new Sha256().state();
        bad[32] = (byte) 0x80;
        assertThatThrownBy(() -> Sha256.of(bad)).isInstanceOf(IllegalStateException.class);
    }
}
