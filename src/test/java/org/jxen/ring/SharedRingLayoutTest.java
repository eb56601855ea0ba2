package org.jxen.ring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The ring.h header layout and __RING_SIZE, checked on raw little-endian bytes. */
class SharedRingLayoutTest {
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void free() {
        arena.close();
    }

    @Test
    void headerOffsetsAreThoseOfRingH() {
        assertThat(new long[] {SharedRingLayout.REQ_PROD_OFFSET, SharedRingLayout.REQ_EVENT_OFFSET,
                SharedRingLayout.RSP_PROD_OFFSET, SharedRingLayout.RSP_EVENT_OFFSET, SharedRingLayout.PAD_OFFSET,
                SharedRingLayout.HEADER_SIZE}).containsExactly(0, 4, 8, 12, 16, 64);
    }

    @Test
    void initSetsProducersToZeroEventsToOneAndZeroesThePadding() {
        MemorySegment page = arena.allocate(4096, 4096);
        page.fill((byte) 0xAB);
        new SharedRingLayout(page, 112).init();
        assertThat(page.get(LE32, 0)).isZero();
        assertThat(page.get(LE32, 4)).isEqualTo(1);
        assertThat(page.get(LE32, 8)).isZero();
        assertThat(page.get(LE32, 12)).isEqualTo(1);
        for (int i = 16; i < 64; i++) assertThat(page.get(ValueLayout.JAVA_BYTE, i)).as("byte %d", i).isZero();
        // entries are not SHARED_RING_INIT's business
        assertThat(page.get(ValueLayout.JAVA_BYTE, 64)).isEqualTo((byte) 0xAB);
    }

    @Test
    void accessorsHitTheRawOffsetsLittleEndian() {
        MemorySegment page = arena.allocate(4096, 4096);
        SharedRingLayout ring = new SharedRingLayout(page, 112);
        ring.setReqProd(0x01020304);
        ring.setReqEvent(0x05060708);
        ring.setRspProd(0x090A0B0C);
        ring.setRspEvent(0xFFFFFFF0);
        assertThat(page.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 0x04);
        assertThat(page.get(LE32, 4)).isEqualTo(0x05060708);
        assertThat(page.get(LE32, 8)).isEqualTo(0x090A0B0C);
        assertThat(page.get(LE32, 12)).isEqualTo(0xFFFFFFF0);
        page.set(LE32, 0, 77);
        assertThat(ring.reqProd()).isEqualTo(77);
    }

    @ParameterizedTest(name = "entry {0} bytes, {1} page(s): {2} slots")
    @CsvSource({
        // hand-computed: (pages*4096 - 64) / entry, rounded down to a power of two
        "112, 1, 32", "112, 2, 64", "112, 4, 128", "112, 8, 256", // 36, 72.6, 145.7, 292
        "32, 1, 64", "32, 2, 128", "32, 4, 256", "32, 8, 512", //    126, 254, 510, 1022
        "64, 1, 32", "64, 2, 64", "64, 4, 128", "64, 8, 256", //     63, 127, 255, 511
    })
    void slotCountsFollowRingSize(int entry, int pages, int slots) {
        assertThat(SharedRingLayout.slots(pages * 4096L, entry)).isEqualTo(slots);
        assertThat(new SharedRingLayout(arena.allocate(pages * 4096L, 4096), entry).size()).isEqualTo(slots);
    }

    @Test
    void entriesStartAfterTheHeaderAndWrapWithTheIndex() {
        SharedRingLayout ring = new SharedRingLayout(arena.allocate(4096, 4096), 112);
        assertThat(ring.entryOffset(0)).isEqualTo(64);
        assertThat(ring.entryOffset(1)).isEqualTo(176);
        assertThat(ring.entryOffset(31)).isEqualTo(64 + 31 * 112);
        assertThat(ring.entryOffset(32)).isEqualTo(64);
        assertThat(ring.entryOffset(0xFFFFFFFF)).isEqualTo(64 + 31 * 112);
    }

    @Test
    void rejectsRingsWithoutRoomForAnEntry() {
        assertThatThrownBy(() -> SharedRingLayout.slots(64 + 111, 112)).isInstanceOf(IllegalArgumentException.class);
        assertThat(SharedRingLayout.slots(64 + 112, 112)).isEqualTo(1);
    }
}
