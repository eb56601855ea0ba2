package org.jxen.ring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** struct xencons_interface, byte for byte, and the two byte rings over it. */
class ConsoleRingLayoutTest {
    private static final ValueLayout.OfInt LE = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment page = Arena.ofAuto().allocate(4096, 4096);
    private final ConsoleRingLayout layout = new ConsoleRingLayout(page);

    @Test
    void offsetsAreThoseOfConsoleH() throws Exception {
        assertThat(ConsoleRingLayout.IN_OFFSET).isZero();
        assertThat(ConsoleRingLayout.OUT_OFFSET).isEqualTo(1024);
        assertThat(ConsoleRingLayout.IN_CONS_OFFSET).isEqualTo(3072);
        assertThat(ConsoleRingLayout.IN_PROD_OFFSET).isEqualTo(3076);
        assertThat(ConsoleRingLayout.OUT_CONS_OFFSET).isEqualTo(3080);
        assertThat(ConsoleRingLayout.OUT_PROD_OFFSET).isEqualTo(3084);
        assertThat(ConsoleRingLayout.CONNECTION_OFFSET).isEqualTo(3088);
        assertThat(layout.out().size()).isEqualTo(2048);
        assertThat(layout.in().size()).isEqualTo(1024);
    }

    @Test
    void outBytesLandAtOffset1024AndProdIsLittleEndianAt3084() throws Exception {
        byte[] hello = "hello\n".getBytes(StandardCharsets.US_ASCII);
        assertThat(layout.out().write(hello, 0, hello.length)).isEqualTo(6);

        assertThat(page.asSlice(1024, 6).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(hello);
        assertThat(page.get(LE, 3084)).isEqualTo(6);
        assertThat(page.get(LE, 3080)).isZero();
        assertThat(page.get(LE, 3076)).isZero();
        assertThat(page.get(ValueLayout.JAVA_BYTE, 0)).isZero();
    }

    @Test
    void inRingUsesOffset0AndIndicesAt3072() throws Exception {
        byte[] key = {'x', 'y'};
        layout.in().write(key, 0, 2);
        assertThat(page.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 'x');
        assertThat(page.get(LE, 3076)).isEqualTo(2);
        byte[] got = new byte[8];
        assertThat(layout.in().read(got, 0, 8)).isEqualTo(2);
        assertThat(page.get(LE, 3072)).isEqualTo(2);
    }

    @Test
    void fullRingTakesNoMoreAndReadingFreesRoom() throws Exception {
        byte[] big = new byte[3000];
        Arrays.fill(big, (byte) 'a');
        assertThat(layout.out().write(big, 0, big.length)).isEqualTo(2048);
        assertThat(layout.out().write(big, 0, 1)).isZero();
        byte[] got = new byte[100];
        assertThat(layout.out().read(got, 0, 100)).isEqualTo(100);
        assertThat(layout.out().write(big, 0, 1000)).isEqualTo(100);
        assertThat(layout.out().used()).isEqualTo(2048);
    }

    @Test
    void indicesRunFreeAcrossTheWrapAndU32Overflow() throws Exception {
        page.set(LE, 3080, -3);
        page.set(LE, 3084, -3);
        byte[] msg = "wrapped!".getBytes(StandardCharsets.US_ASCII);
        assertThat(layout.out().write(msg, 0, msg.length)).isEqualTo(8);
        assertThat(page.get(LE, 3084)).isEqualTo(5);
        // -3 & 2047 = 2045: three bytes at the end of out, five at its start.
        assertThat(page.get(ValueLayout.JAVA_BYTE, 1024 + 2045)).isEqualTo((byte) 'w');
        assertThat(page.get(ValueLayout.JAVA_BYTE, 1024)).isEqualTo((byte) 'p');
        byte[] got = new byte[16];
        int n = layout.out().read(got, 0, got.length);
        assertThat(new String(got, 0, n, StandardCharsets.US_ASCII)).isEqualTo("wrapped!");
        assertThat(page.get(LE, 3080)).isEqualTo(5);
    }

    @Test
    void aProducerIndexMoreThanARingAheadIsIgnored() throws Exception {
        page.set(LE, 3084, 5000);
        byte[] got = new byte[16];
        assertThatThrownBy(() -> layout.out().read(got, 0, got.length)).isInstanceOf(RingIndexException.class)
                .hasMessage("console out ring indices out of range: cons=0 prod=5000");
        assertThatThrownBy(() -> layout.out().used()).isInstanceOf(RingIndexException.class);
        assertThat(page.get(LE, 3080)).isZero();
    }
}
