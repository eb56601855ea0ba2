package org.jxen.ring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Rings over separately mapped pages (ring-ref0..3), where 112-byte entries straddle page boundaries, must
 * leave exactly the bytes a contiguous mapping of the same pages would hold.
 */
class PagedRingTest {
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int ENTRY = 112;
    private static final int PAGES = 4;

    private final Arena arena = Arena.ofConfined();
    private final List<MemorySegment> pages = new ArrayList<>();
    private final MemorySegment flat = arena.allocate(PAGES * 4096L, 4096);

    PagedRingTest() {
        // allocated apart, with a gap, so no accidental contiguity
        for (int i = 0; i < PAGES; i++) {
            pages.add(arena.allocate(4096, 4096));
            arena.allocate(4096, 4096);
        }
    }

    @AfterEach
    void free() {
        arena.close();
    }

    @Test
    void entriesAreAddressedAcrossPages() {
        SharedRingLayout paged = new SharedRingLayout(pages, ENTRY);
        assertThat(paged.size()).isEqualTo(128);
        assertThat(paged.ringBytes()).isEqualTo(PAGES * 4096L);
        // 64 + 112 * 72 = 8128: 64 bytes on page 1, 48 on page 2
        assertThat(paged.entryOffset(72)).isEqualTo(8128);
        assertThat(paged.directEntry(72)).isNull();
        assertThat(paged.directEntry(109)).isNull(); // 12272..12384 crosses 12288
        assertThat(paged.directEntry(36)).isNotNull(); // 4096: starts page 1 exactly
        assertThat(paged.directEntry(71)).isNotNull();
    }

    @Test
    void straddlingEntriesAreCopiedPiecewise() {
        SharedRingLayout paged = new SharedRingLayout(pages, ENTRY);
        MemorySegment src = arena.allocate(ENTRY);
        for (int i = 0; i < ENTRY; i++) src.set(ValueLayout.JAVA_BYTE, i, (byte) (i + 1));
        paged.copyIn(src, 72);
        assertThat(pages.get(1).get(ValueLayout.JAVA_BYTE, 4032)).isEqualTo((byte) 1);
        assertThat(pages.get(1).get(ValueLayout.JAVA_BYTE, 4095)).isEqualTo((byte) 64);
        assertThat(pages.get(2).get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 65);
        assertThat(pages.get(2).get(ValueLayout.JAVA_BYTE, 47)).isEqualTo((byte) 112);
        MemorySegment dst = arena.allocate(ENTRY);
        paged.copyOut(72, dst);
        assertThat(dst.mismatch(src)).isEqualTo(-1);
    }

    @Test
    void pagedAndContiguousRingsHoldTheSameBytes() {
        SharedRingLayout paged = new SharedRingLayout(pages, ENTRY);
        SharedRingLayout contiguous = new SharedRingLayout(flat, ENTRY);
        FrontRing pf = new FrontRing(paged).init();
        FrontRing cf = new FrontRing(contiguous).init();
        BackRing pb = new BackRing(paged);
        BackRing cb = new BackRing(contiguous);
        Random random = new Random(42);
        MemorySegment pbuf = arena.allocate(ENTRY);
        MemorySegment cbuf = arena.allocate(ENTRY);
        long expected = 0;
        for (int round = 0; round < 40; round++) { // 40 rounds of up to 100 entries lap the 128 slots often
            int batch = 1 + random.nextInt(100);
            for (int i = 0; i < batch && !pf.isFull(); i++) {
                long seed = random.nextLong();
                fill(pf.nextRequest(), seed);
                fill(cf.nextRequest(), seed);
            }
            assertThat(pf.pushRequestsAndCheckNotify()).isEqualTo(cf.pushRequestsAndCheckNotify());
            assertSameBytes();
            int answer = random.nextInt(batch + 1);
            for (int i = 0; i < answer && pb.copyNextRequest(pbuf); i++) {
                assertThat(cb.copyNextRequest(cbuf)).isTrue();
                assertThat(pbuf.mismatch(cbuf)).isEqualTo(-1);
                // the response overwrites the first 12 bytes of the request's slot, as blkif's does
                pb.nextResponse().set(LE64, 0, pbuf.get(LE64, 0));
                cb.nextResponse().set(LE64, 0, cbuf.get(LE64, 0));
            }
            assertThat(pb.pushResponsesAndCheckNotify()).isEqualTo(cb.pushResponsesAndCheckNotify());
            assertSameBytes();
            MemorySegment p;
            while ((p = pf.nextResponse()) != null) {
                MemorySegment c = cf.nextResponse();
                assertThat(p.mismatch(c)).isEqualTo(-1);
                expected++;
            }
            assertThat(pf.finalCheckForResponses()).isEqualTo(cf.finalCheckForResponses());
            assertThat(pb.finalCheckForRequests()).isEqualTo(cb.finalCheckForRequests());
        }
        assertThat(Integer.toUnsignedLong(pf.rspCons())).isEqualTo(expected).isGreaterThan(256);
    }

    @Test
    void pagesMustBeOfOneSize() {
        assertThatThrownBy(() -> new SharedRingLayout(List.of(pages.get(0), arena.allocate(2048, 4096)), ENTRY))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SharedRingLayout(List.of(), ENTRY)).isInstanceOf(IllegalArgumentException.class);
    }

    private static void fill(MemorySegment entry, long seed) {
        Random r = new Random(seed);
        for (long off = 0; off < ENTRY; off += 8) entry.set(LE64, off, r.nextLong());
    }

    private void assertSameBytes() {
        for (int i = 0; i < PAGES; i++) {
            assertThat(pages.get(i).mismatch(flat.asSlice(i * 4096L, 4096))).as("page %d", i).isEqualTo(-1);
        }
    }
}
