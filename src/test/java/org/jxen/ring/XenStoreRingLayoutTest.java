package org.jxen.ring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The page layout of xenstore-ring.txt, checked against raw little-endian accesses at the exact offsets. */
class XenStoreRingLayoutTest {
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena = Arena.ofShared();
    private final MemorySegment page = arena.allocate(4096, 4096);
    private final XenStoreRingLayout ring = new XenStoreRingLayout(page);

    @AfterEach
    void free() {
        arena.close();
    }

    @Test
    void constantsAreThoseOfXenstoreRingTxt() {
        assertThat(XenStoreRingLayout.XENSTORE_RING_SIZE).isEqualTo(1024);
        assertThat(new long[] {XenStoreRingLayout.REQ_OFFSET, XenStoreRingLayout.RSP_OFFSET,
                XenStoreRingLayout.REQ_CONS_OFFSET, XenStoreRingLayout.REQ_PROD_OFFSET,
                XenStoreRingLayout.RSP_CONS_OFFSET, XenStoreRingLayout.RSP_PROD_OFFSET,
                XenStoreRingLayout.SERVER_FEATURES_OFFSET, XenStoreRingLayout.CONNECTION_OFFSET,
                XenStoreRingLayout.ERROR_OFFSET})
                .containsExactly(0, 1024, 2048, 2052, 2056, 2060, 2064, 2068, 2072);
        assertThat(new int[] {XenStoreRingLayout.FEATURE_RECONNECTION, XenStoreRingLayout.FEATURE_ERROR,
                XenStoreRingLayout.CONNECTED, XenStoreRingLayout.RECONNECT, XenStoreRingLayout.ERROR_NONE,
                XenStoreRingLayout.ERROR_COMMS, XenStoreRingLayout.ERROR_RING_IDX, XenStoreRingLayout.ERROR_PROTO})
                .containsExactly(1, 2, 0, 1, 0, 1, 2, 3);
    }

    @Test
    void rawWritesAtTheOffsetsAreReadByTheFlyweight() {
        int[] offsets = {2048, 2052, 2056, 2060, 2064, 2068, 2072};
        for (int i = 0; i < offsets.length; i++) page.set(LE32, offsets[i], 0x01020300 + i);
        assertThat(new int[] {ring.reqCons(), ring.reqProd(), ring.rspCons(), ring.rspProd(), ring.serverFeatures(),
                ring.connection(), ring.error()})
                .containsExactly(0x01020300, 0x01020301, 0x01020302, 0x01020303, 0x01020304, 0x01020305, 0x01020306);
        // Little-endian on the page: the low byte comes first.
        assertThat(page.get(ValueLayout.JAVA_BYTE, 2072)).isEqualTo((byte) 0x06);
    }

    @Test
    void flyweightWritesLandAtTheOffsets() {
        ring.setReqCons(11);
        ring.setReqProd(12);
        ring.setRspCons(13);
        ring.setRspProd(14);
        ring.setServerFeatures(3);
        ring.setConnection(1);
        ring.setError(2);
        assertThat(new int[] {page.get(LE32, 2048), page.get(LE32, 2052), page.get(LE32, 2056), page.get(LE32, 2060),
                page.get(LE32, 2064), page.get(LE32, 2068), page.get(LE32, 2072)})
                .containsExactly(11, 12, 13, 14, 3, 1, 2);
        // Nothing else on the page was touched.
        for (long off = 0; off < 2048; off++) assertThat(page.get(ValueLayout.JAVA_BYTE, off)).isZero();
        for (long off = 2076; off < 4096; off++) assertThat(page.get(ValueLayout.JAVA_BYTE, off)).isZero();
    }

    @Test
    void requestDataGoesToOffsetZeroAndResponsesToOffset1024() throws Exception {
        assertThat(ring.requests().write(new byte[] {1, 2, 3}, 0, 3)).isEqualTo(3);
        assertThat(ring.responses().write(new byte[] {7, 8}, 0, 2)).isEqualTo(2);
        assertThat(page.asSlice(0, 3).toArray(ValueLayout.JAVA_BYTE)).containsExactly(1, 2, 3);
        assertThat(page.asSlice(1024, 2).toArray(ValueLayout.JAVA_BYTE)).containsExactly(7, 8);
        assertThat(page.get(LE32, 2052)).isEqualTo(3);
        assertThat(page.get(LE32, 2060)).isEqualTo(2);
        byte[] got = new byte[10];
        assertThat(ring.requests().read(got, 0, 10)).isEqualTo(3);
        assertThat(page.get(LE32, 2048)).isEqualTo(3);
    }

    @Test
    void writesAsMuchAsFitsAndWrapsAtTheSlotBoundary() throws Exception {
        // Indices near the u32 wrap: slot = idx & 1023 still works when prod overflows past 2^32.
        int start = 0xFFFFFE00 + 1000;
        ring.setReqCons(start);
        ring.setReqProd(start);
        byte[] data = new byte[1100];
        for (int i = 0; i < data.length; i++) data[i] = (byte) i;
        assertThat(ring.requests().write(data, 0, data.length)).isEqualTo(1024);
        assertThat(ring.requests().free()).isZero();
        assertThat(ring.reqProd()).isEqualTo(start + 1024);
        // The first 24 bytes sit at the end of the ring, the rest wrapped to slot 0.
        assertThat(page.get(ValueLayout.JAVA_BYTE, (start & 1023))).isEqualTo((byte) 0);
        assertThat(page.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 24);
        byte[] out = new byte[2000];
        assertThat(ring.requests().read(out, 0, 500)).isEqualTo(500);
        assertThat(ring.requests().read(out, 500, 1500)).isEqualTo(524);
        for (int i = 0; i < 1024; i++) assertThat(out[i]).isEqualTo(data[i]);
        assertThat(ring.requests().read(out, 0, 1)).isZero();
        assertThat(ring.reqCons()).isEqualTo(ring.reqProd());
    }

    @Test
    void indicesMoreThanARingApartAreRejected() throws Exception {
        ring.setReqCons(100);
        ring.setReqProd(100 + 1025);
        assertThatThrownBy(() -> ring.requests().read(new byte[8], 0, 8)).isInstanceOf(RingIndexException.class)
                .hasMessageContaining("cons=100 prod=1125");
        ring.setRspProd(5);
        ring.setRspCons(6);
        assertThatThrownBy(() -> ring.responses().write(new byte[8], 0, 8)).isInstanceOf(RingIndexException.class);
        // Exactly a full ring apart is legal (full, not bogus).
        ring.setReqProd(100 + 1024);
        assertThat(ring.requests().write(new byte[8], 0, 8)).isZero();
    }

    @Test
    void refusesPagesThatAreTooSmallOrMisaligned() {
        assertThatThrownBy(() -> new XenStoreRingLayout(arena.allocate(2048, 8))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new XenStoreRingLayout(arena.allocate(8192, 8).asSlice(2, 4096)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
