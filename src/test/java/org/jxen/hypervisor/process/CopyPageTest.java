package org.jxen.hypervisor.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.hypervisor.GrantStatus;
import org.junit.jupiter.api.Test;

/**
 * The host writes statuses only from the first one that changed; the guest must still read exactly them. The
 * guest's wait for {@code done} spins on while the host has taken its batch, but not for ever.
 */
class CopyPageTest {
    /**
     * The host took batch 7 and then stalls (as if preempted): the guest, spinning because the batch is taken,
     * still goes to sleep after SPIN_NANOS and raises guest_sleeping; publishing done wakes it with true.
     * Closing the page releases a waiter with false.
     */
    /** A bound for liveness, not a speed: a waiter that never sleeps fails here instead of hanging the build. */
    private static void awaitSleeping(CopyPage page) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (page.get(CopyPage.GUEST_SLEEPING) == 0) {
            assertThat(System.nanoTime() - deadline).as("the waiter never went to sleep").isNegative();
            Thread.onSpinWait();
        }
    }

    @Test
    void aWaiterWhoseBatchIsTakenStillSleepsAndWakesOnDoneOrClose() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            CopyPage page = new CopyPage(arena.allocate(CopyPage.SIZE, 64));
            page.set(CopyPage.DONE, 6);
            page.mark(CopyPage.TAKEN, 7);
            CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(
                    () -> page.awaitChange(CopyPage.DONE, 6, CopyPage.GUEST_SLEEPING, CopyPage.TAKEN, 7),
                            task -> Thread.ofPlatform().daemon().start(task));
            awaitSleeping(page);
            assertThat(waiter).isNotDone();
            page.publish(CopyPage.DONE, 7, CopyPage.GUEST_SLEEPING);
            assertThat(waiter.get(30, TimeUnit.SECONDS)).isTrue();
            assertThat(page.get(CopyPage.GUEST_SLEEPING)).isZero();

            page.mark(CopyPage.TAKEN, 8);
            CompletableFuture<Boolean> second = CompletableFuture.supplyAsync(
                    () -> page.awaitChange(CopyPage.DONE, 7, CopyPage.GUEST_SLEEPING, CopyPage.TAKEN, 8),
                            task -> Thread.ofPlatform().daemon().start(task));
            awaitSleeping(page);
            // The host's close, not a bare CLOSED flag and a wake: a waiter that read CLOSED just before it was
            // set would sleep through that wake, as FUTEX_WAIT still finds the word unchanged (this test hung so,
            // about one run in three). close() changes the futex words as well.
            page.close();
            assertThat(second.get(30, TimeUnit.SECONDS)).isFalse();
        }
    }

    @Test
    void statusesReadBackAsWrittenWhateverThePageHeld() {
        try (Arena arena = Arena.ofConfined()) {
            CopyPage page = new CopyPage(arena.allocate(CopyPage.SIZE, 64));
            int[] read = new int[8];

            int[] first = {0, 0, 0, 0, 0, 0, 0, 0};
            page.writeStatus(first, 8);
            page.readStatus(read, 0, 8);
            assertThat(read).containsExactly(first);

            int[] lastChanged = {0, 0, 0, 0, 0, 0, 0, GrantStatus.BAD_GNTREF.code};
            page.writeStatus(lastChanged, 8);
            page.readStatus(read, 0, 8);
            assertThat(read).containsExactly(lastChanged);

            int[] firstChanged = {GrantStatus.GENERAL_ERROR.code, 0, 0, 0, 0, 0, 0, 0};
            page.writeStatus(firstChanged, 8);
            page.readStatus(read, 0, 8);
            assertThat(read).containsExactly(firstChanged);

            // A guest scribbled over its status area: the host's statuses replace whatever is there.
            page.set(CopyPage.STATUS_OFFSET + 3 * Integer.BYTES, 0x7F7F7F7F);
            page.writeStatus(firstChanged, 8);
            page.readStatus(read, 0, 8);
            assertThat(read).containsExactly(firstChanged);

            // Fewer ops than last time: only the batch's own statuses are written and read.
            page.writeStatus(new int[] {0, 0}, 2);
            int[] two = new int[2];
            page.readStatus(two, 0, 2);
            assertThat(two).containsExactly(0, 0);
            assertThat(page.get(CopyPage.STATUS_OFFSET + 7 * Integer.BYTES)).isZero();
        }
    }
}
