package org.jxen.drivers.blk.front;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.jxen.drivers.blk.Blkif;

/** blkfront's buffer pool: lowest-index-first allocation and copies by runs of consecutive frames. */
class PagePoolTest {
    private static final int PAGE = Blkif.PAGE_SIZE;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment memory = arena.allocate(64L * PAGE, PAGE);
    private final Random rnd = new Random(7);

    @AfterEach
    void close() {
        arena.close();
    }

    /** A pool over the given frames of {@code memory}, refs 100 + index. */
    private PagePool pool(int... frames) {
        MemorySegment[] segs = new MemorySegment[frames.length];
        int[] refs = new int[frames.length];
        for (int i = 0; i < frames.length; i++) {
            segs[i] = memory.asSlice((long) frames[i] * PAGE, PAGE);
            refs[i] = 100 + i;
        }
        return new PagePool(memory, segs, refs);
    }

    private static int[] indices(PagePool.Page[] ps) {
        return Arrays.stream(ps).mapToInt(PagePool.Page::index).toArray();
    }

    @Test
    void pagesAreHandedOutLowestIndexFirstAndReturned() {
        PagePool p = pool(0, 1, 2, 3, 4, 5, 6, 7);
        PagePool.Page[] a = p.take(3);
        PagePool.Page[] b = p.take(2);
        assertThat(indices(a)).containsExactly(0, 1, 2);
        assertThat(indices(b)).containsExactly(3, 4);
        assertThat(a[1].ref()).isEqualTo(101);
        assertThat(a[1].offset()).isEqualTo(PAGE);
        assertThat(p.available()).isEqualTo(3);
        p.give(a);
        assertThat(p.available()).isEqualTo(6);
        // The freed low pages come back first, then the run continues above the pages still taken.
        assertThat(indices(p.take(5))).containsExactly(0, 1, 2, 5, 6);
        assertThat(p.available()).isEqualTo(1);
        assertThatThrownBy(() -> p.take(2)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aPageReturnedTwiceIsRefused() {
        PagePool p = pool(0, 1, 2, 3);
        PagePool.Page[] a = p.take(2);
        p.give(a);
        assertThatThrownBy(() -> p.give(new PagePool.Page[] {a[1]})).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("page 1 freed twice");
        assertThat(p.available()).isEqualTo(4);
    }

    @Test
    void pagesOutsideTheMemoryAreRefused() {
        MemorySegment elsewhere = arena.allocate(PAGE, PAGE);
        assertThatThrownBy(() -> new PagePool(memory, new MemorySegment[] {elsewhere}, new int[] {1}))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void consecutiveFramesAreCopiedAsOneRunOthersPageByPage() {
        // Pool order: frames 10..13 consecutive, then 20, then 30, 31, then 5 (a gap and a step back).
        PagePool p = pool(10, 11, 12, 13, 20, 30, 31, 5);
        PagePool.Page[] all = p.take(8);
        assertThat(p.runLength(all, 0)).isEqualTo(4);
        assertThat(p.runLength(all, 4)).isEqualTo(1);
        assertThat(p.runLength(all, 5)).isEqualTo(2);
        assertThat(p.runLength(all, 7)).isEqualTo(1);
        // Pages taken out of index order never form a run, even when their frames are adjacent.
        assertThat(p.runLength(new PagePool.Page[] {all[1], all[0]}, 0)).isEqualTo(1);
    }

    @Test
    void copyInAndOutMoveExactlyTheBytesAskedForAcrossRunsAndAPartialLastPage() {
        PagePool p = pool(10, 11, 12, 13, 20, 30, 31, 5);
        PagePool.Page[] pages = p.take(8);
        int len = 7 * PAGE + 3 * 512; // the last page holds 3 sectors
        byte[] src = new byte[len + 100];
        rnd.nextBytes(src);
        memory.fill((byte) 0x5A);
        p.copyIn(src, 100, len, pages);
        for (int i = 0; i < 8; i++) {
            int n = Math.min(PAGE, len - i * PAGE);
            byte[] got = pages[i].seg().asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
            assertThat(got).as("page %d", i).isEqualTo(Arrays.copyOfRange(src, 100 + i * PAGE, 100 + i * PAGE + n));
        }
        // Nothing past the requested length was written.
        assertThat(pages[7].seg().get(ValueLayout.JAVA_BYTE, 3 * 512)).isEqualTo((byte) 0x5A);
        assertThat(memory.get(ValueLayout.JAVA_BYTE, 14L * PAGE)).isEqualTo((byte) 0x5A);

        byte[] dst = new byte[len + 50];
        Arrays.fill(dst, (byte) 1);
        p.copyOut(pages, len, dst, 50);
        assertThat(Arrays.copyOfRange(dst, 50, 50 + len)).isEqualTo(Arrays.copyOfRange(src, 100, 100 + len));
        assertThat(Arrays.copyOfRange(dst, 0, 50)).containsOnly((byte) 1);
    }

    @Test
    void sixtyFourConsecutiveFramesAreOneRun() {
        int[] frames = new int[64];
        for (int i = 0; i < 64; i++) frames[i] = i;
        PagePool p = pool(frames);
        PagePool.Page[] pages = p.take(64);
        assertThat(p.runLength(pages, 0)).isEqualTo(64);
        byte[] src = new byte[64 * PAGE];
        rnd.nextBytes(src);
        p.copyIn(src, 0, src.length, pages);
        assertThat(memory.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(src);
        byte[] back = new byte[src.length];
        p.copyOut(pages, back.length, back, 0);
        assertThat(back).isEqualTo(src);
    }
}
