package org.jxen.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The copy loop's pin discipline, seen from the granters' entries: Xen's gnttab_copy keeps a side's grant pinned
 * while consecutive ops name it, drops it when an op names another page or fails (and both sides when a side's
 * domain changes), and leaves nothing pinned at the end. The domain table is a map here, and its look-up a hook
 * that runs at the moment an op names a new granter, which is where a test looks at the entries mid-batch.
 */
class CopyLoopTest {
    private static final int CALLER = 3;
    private static final int X = 1;
    private static final int Y = 2;

    @TempDir
    Path dir;
    private final Map<Integer, Domain> domains = new HashMap<>();
    private Domain x;
    private Domain y;
    private Domain caller;

    @BeforeEach
    void domains() {
        RunDir run = new RunDir(dir);
        x = new Domain(run, X, 1, 8, 1);
        y = new Domain(run, Y, 2, 8, 1);
        caller = new Domain(run, CALLER, 3, 8, 1);
        for (Domain d : List.of(x, y, caller)) domains.put(d.id, d);
    }

    @AfterEach
    void release() {
        for (Domain d : domains.values()) {
            d.memory.release();
            d.grantFile.release();
            d.eventFile.release();
        }
    }

    private static int grant(Domain granter, int ref, int frame, boolean readonly) {
        GrantEntry.grant(granter.grantFile.segment(), ref, CALLER, frame, readonly);
        return ref;
    }

    private static int inUse(Domain granter, int ref) {
        return GrantEntry.flags(GrantEntry.flagsAndDomid(granter.grantFile.segment(), ref))
                & (GrantEntry.GTF_READING | GrantEntry.GTF_WRITING);
    }

    private int[] copy(CopyBatch batch, IntFunction<Domain> lookup) {
        GrantOps.copy(caller, batch.ops, batch.count(), batch.status, lookup);
        return batch.statuses();
    }

    private static GrantCopy ref(Domain from, int ref, Domain to, int toRef, int len) {
        return new GrantCopy(new GrantCopy.Ref(from.id, ref, 0), new GrantCopy.Ref(to.id, toRef, 0), len);
    }

    @Test
    void pinCountsGrowWithTheTableAndKeepThePinsHeld() {
        int low = grant(x, 10, 2, false);
        assertThat(GrantOps.pin(x, low, CALLER, false)).isEqualTo(2);
        int high = GrantTable.DEFAULT_FRAMES * GrantEntry.ENTRIES_PER_FRAME + 5;
        grant(x, high, 3, true);
        assertThat(GrantOps.pin(x, high, CALLER, true)).as("beyond the table as it is").isEqualTo(GrantStatus.BAD_GNTREF.code);

        x.grantFrames = GrantTable.DEFAULT_FRAMES + 1;
        x.growPinCounts();
        assertThat(x.readers).hasSize((GrantTable.DEFAULT_FRAMES + 1) * GrantEntry.ENTRIES_PER_FRAME);
        assertThat(x.readers[low]).as("the pin taken before the growth").isEqualTo(1);
        assertThat(x.writers[low]).isEqualTo(1);
        assertThat(GrantOps.pin(x, high, CALLER, true)).isEqualTo(3);
        assertThat(x.readers[high]).isEqualTo(1);

        GrantOps.unpin(x, low, false);
        GrantOps.unpin(x, high, true);
        assertThat(inUse(x, low)).as("the last unpin clears the flags").isZero();
        assertThat(inUse(x, high)).isZero();
    }

    @Test
    void aPointerKindThatIsNeitherRefNorFrameIsABadCopyArgEvenWhereNothingIsHeld() {
        int a = grant(x, 10, 2, true);
        x.memory.segment().set(ValueLayout.JAVA_LONG, 2L * 4096, 77L);
        CopyBatch batch = new CopyBatch(3)
                .add(new GrantCopy(new GrantCopy.Frame(0, 0), new GrantCopy.Frame(1, 0), 8))
                .add(ref(x, a, caller, 0, 8))
                .add(new GrantCopy(new GrantCopy.Frame(0, 0), new GrantCopy.Frame(1, 0), 8));
        // What a guest may write into its hypercall page: kind -1 (the loop's own "nothing held") and kind 7,
        // with the key and ref of what an earlier op held.
        batch.ops[CopyBatch.SRC + CopyBatch.KIND] = -1;
        batch.ops[CopyBatch.INTS + CopyBatch.DST + CopyBatch.KIND] = -1;
        batch.ops[CopyBatch.INTS + CopyBatch.DST + CopyBatch.DOM_OR_FRAME] = 0;
        batch.ops[2 * CopyBatch.INTS + CopyBatch.SRC + CopyBatch.KIND] = 7;
        assertThat(copy(batch, domains::get)).containsExactly(GrantStatus.BAD_COPY_ARG.code,
                GrantStatus.BAD_COPY_ARG.code, GrantStatus.BAD_COPY_ARG.code);
        assertThat(caller.memory.segment().get(ValueLayout.JAVA_LONG, 4096L)).as("nothing copied").isZero();
        assertThat(inUse(x, a)).as("nothing left pinned").isZero();
        assertThat(x.readers[a]).isZero();
    }

    @Test
    void aChangeOfGranterDropsBothSidesBeforeTheLookUp() {
        int a = grant(x, 10, 2, true);
        int c = grant(x, 11, 3, false);
        int b = grant(y, 10, 2, true);
        y.memory.segment().set(ValueLayout.JAVA_LONG, 2L * 4096, 88L);
        List<Integer> seen = new ArrayList<>();
        // Op 2 names granter y for its source: gnttab_copy_one releases both buffers before it looks y up, even
        // the destination, whose granter stays x.
        IntFunction<Domain> lookup = id -> {
            if (id == Y) {
                seen.add(inUse(x, a));
                seen.add(inUse(x, c));
            }
            return domains.get(id);
        };
        CopyBatch batch = new CopyBatch(3)
                .add(ref(x, a, x, c, 8))
                .add(ref(x, a, x, c, 8))
                .add(ref(y, b, x, c, 8));
        assertThat(copy(batch, lookup)).containsExactly(0, 0, 0);
        assertThat(seen).containsExactly(0, 0);
        assertThat(x.memory.segment().get(ValueLayout.JAVA_LONG, 3L * 4096)).as("op 2 copied").isEqualTo(88L);
        assertThat(inUse(x, a) | inUse(x, c) | inUse(y, b)).as("nothing pinned after the batch").isZero();
        assertThat(x.readers[a] + x.readers[c] + x.writers[c] + y.readers[b]).isZero();
    }

    @Test
    void aFailedOpDropsBothSidesAndLaterOpsStillRun() {
        int a = grant(x, 10, 2, true);
        int c = grant(x, 11, 3, false);
        int b = grant(y, 10, 2, true);
        List<Integer> seen = new ArrayList<>();
        IntFunction<Domain> lookup = id -> {
            if (id == Y) seen.add(inUse(x, a) | inUse(x, c));
            return domains.get(id);
        };
        CopyBatch batch = new CopyBatch(4)
                .add(ref(x, a, x, c, 8))
                .add(ref(x, a, x, c, 4097))
                .add(ref(y, b, x, c, 8))
                .add(ref(x, a, x, a, 8));
        assertThat(copy(batch, lookup)).containsExactly(0, GrantStatus.BAD_COPY_ARG.code, 0,
                GrantStatus.GENERAL_ERROR.code);
        assertThat(seen).as("op 1 failed: a and c were released before op 2 looked up y").containsExactly(0);
        assertThat(inUse(x, a) | inUse(x, c) | inUse(y, b)).isZero();
        assertThat(x.readers[a] + x.readers[c] + x.writers[a] + x.writers[c] + y.readers[b]).isZero();
    }

    @Test
    void aCopyLeavesAMappingsPinAndFlagsAlone() {
        int c = grant(x, 11, 3, false);
        x.readers[c] = 1;
        x.writers[c] = 1;
        GrantEntry.compareAndSet(x.grantFile.segment(), c, GrantEntry.flagsAndDomid(x.grantFile.segment(), c),
                GrantEntry.flagsAndDomid(x.grantFile.segment(), c) | GrantEntry.GTF_READING | GrantEntry.GTF_WRITING);
        CopyBatch batch = new CopyBatch(2)
                .add(new GrantCopy(new GrantCopy.Frame(4, 0), new GrantCopy.Ref(X, c, 0), 8))
                .add(new GrantCopy(new GrantCopy.Ref(X, c, 0), new GrantCopy.Frame(5, 0), 8));
        assertThat(copy(batch, domains::get)).containsExactly(0, 0);
        assertThat(inUse(x, c)).isEqualTo(GrantEntry.GTF_READING | GrantEntry.GTF_WRITING);
        assertThat(x.readers[c]).isEqualTo(1);
        assertThat(x.writers[c]).isEqualTo(1);
    }

    @Test
    void eachPointerIsCheckedAsXenDoes() {
        int ro = grant(x, 10, 2, true);
        int outside = grant(x, 12, 8, true);
        int notToCaller = 13;
        GrantEntry.grant(x.grantFile.segment(), notToCaller, 9, 2, true);
        CopyBatch batch = new CopyBatch(8)
                .add(new GrantCopy(new GrantCopy.Frame(4, 0), new GrantCopy.Ref(X, ro, 0), 8))
                .add(new GrantCopy(new GrantCopy.Ref(X, notToCaller, 0), new GrantCopy.Frame(4, 0), 8))
                .add(new GrantCopy(new GrantCopy.Ref(X, outside, 0), new GrantCopy.Frame(4, 0), 8))
                .add(new GrantCopy(new GrantCopy.Ref(X, x.grantEntries(), 0), new GrantCopy.Frame(4, 0), 8))
                .add(new GrantCopy(new GrantCopy.Ref(X, -1, 0), new GrantCopy.Frame(4, 0), 8))
                .add(new GrantCopy(new GrantCopy.Ref(42, 10, 0), new GrantCopy.Frame(4, 0), 8))
                .add(new GrantCopy(new GrantCopy.Ref(X, ro, 0), new GrantCopy.Frame(8, 0), 8))
                .add(new GrantCopy(new GrantCopy.Ref(X, ro, 4095), new GrantCopy.Frame(4, 0), 2));
        assertThat(copy(batch, domains::get)).containsExactly(GrantStatus.GENERAL_ERROR.code,
                GrantStatus.GENERAL_ERROR.code, GrantStatus.BAD_PAGE.code, GrantStatus.BAD_GNTREF.code,
                GrantStatus.BAD_GNTREF.code, GrantStatus.BAD_DOMAIN.code, GrantStatus.BAD_PAGE.code,
                GrantStatus.BAD_COPY_ARG.code);
        for (int ref : new int[] {ro, outside, notToCaller}) {
            assertThat(inUse(x, ref)).isZero();
            assertThat(x.readers[ref]).isZero();
        }
    }

    @Test
    void aDyingGranterIsBadDomain() {
        int a = grant(x, 10, 2, true);
        x.state = DomainState.DYING;
        CopyBatch batch = new CopyBatch(1).add(new GrantCopy(new GrantCopy.Ref(X, a, 0), new GrantCopy.Frame(4, 0), 8));
        assertThat(copy(batch, domains::get)).containsExactly(GrantStatus.BAD_DOMAIN.code);
        assertThat(inUse(x, a)).isZero();
    }

    /**
     * The granter's end-access fails for as long as a batch copies from its grant: tried from another thread
     * between the batch's second op (which writes a marker into frame 5) and its last (a marker into frame 6).
     * All ops name one grant, so Xen keeps it pinned from the first op to the end of the batch.
     */
    @Test
    void endAccessFailsWhileABatchCopiesFromTheGrant() throws Exception {
        int a = grant(x, 10, 2, true);
        MemorySegment table = x.grantFile.segment();
        MemorySegment mine = caller.memory.segment();
        x.memory.segment().asSlice(2L * 4096, 4096).fill((byte) 0x11);
        int n = 5_000;
        CopyBatch batch = new CopyBatch(n);
        batch.add(new GrantCopy(new GrantCopy.Ref(X, a, 0), new GrantCopy.Frame(4, 0), 4096));
        batch.add(new GrantCopy(new GrantCopy.Ref(X, a, 0), new GrantCopy.Frame(5, 0), 8));
        for (int i = 2; i < n - 1; i++) batch.add(new GrantCopy(new GrantCopy.Ref(X, a, 0), new GrantCopy.Frame(4, 0), 4096));
        batch.add(new GrantCopy(new GrantCopy.Ref(X, a, 0), new GrantCopy.Frame(6, 0), 8));
        ReentrantLock markers = new ReentrantLock();
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger tried = new AtomicInteger();
        AtomicInteger ended = new AtomicInteger();
        Thread granter = Thread.ofPlatform().start(() -> {
            while (!done.get()) {
                markers.lock();
                try {
                    if (marker(mine, 5) && !marker(mine, 6)) {
                        boolean success = GrantEntry.endAccess(table, a);
                        boolean stillRunning = !marker(mine, 6);
                        if (stillRunning) tried.incrementAndGet();
                        if (success && stillRunning) ended.incrementAndGet();
                        if (success) GrantEntry.grant(table, a, CALLER, 2, true);
                    }
                } finally {
                    markers.unlock();
                }
            }
        });
        try {
            for (int round = 0; round < 500 && tried.get() < 1000; round++) {
                markers.lock();
                try {
                    mine.set(ValueLayout.JAVA_LONG, 5L * 4096, 0);
                    mine.set(ValueLayout.JAVA_LONG, 6L * 4096, 0);
                } finally {
                    markers.unlock();
                }
                assertThat(copy(batch, domains::get)).containsOnly(GrantStatus.OKAY.code);
            }
        } finally {
            done.set(true);
            granter.join();
        }
        assertThat(tried.get()).as("end-access attempts while a batch ran").isPositive();
        assertThat(ended.get()).as("end-access successes while a batch ran").isZero();
        assertThat(GrantEntry.endAccess(table, a)).as("and it succeeds once the batch is over").isTrue();
    }

    private static boolean marker(MemorySegment memory, int frame) {
        return memory.get(ValueLayout.JAVA_LONG, frame * 4096L) != 0;
    }
}
