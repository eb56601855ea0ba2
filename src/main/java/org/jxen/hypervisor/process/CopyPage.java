package org.jxen.hypervisor.process;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import org.jxen.hypervisor.CopyBatch;
import org.jxen.libc.Futex;

/**
 * Flyweight over a guest's hypercall page for GNTTABOP_copy: a file the host creates, both processes map and
 * the host unlinks once the guest has mapped it, so no third process can open it. The guest writes a batch and
 * bumps {@code request}; the host's copy thread executes it and publishes {@code done}. Each side spins briefly,
 * then yields for a while, in FUTEX_WAIT on the word it waits for, after announcing it in its {@code *_sleeping} word;
 * the publisher wakes only a sleeper. All control-word accesses are volatile (sequentially consistent), so
 * either the sleeper's FUTEX_WAIT sees the new value or the publisher sees the sleeping flag: no lost wake-ups
 * (the same handshake as {@code EventPage}). Native byte order: both sides run on the same machine.
 *
 * <pre>
 * 0     int request         guest: sequence number of the latest batch
 * 4     int count           guest: ops in it (0..MAX_OPS)
 * 8     int host_sleeping   host: 1 while (about to be) in FUTEX_WAIT on request
 * 64    int done            host: sequence number of the latest finished batch
 * 68    int result          host: 0, or the errno of a batch refused as a whole (bad count, caller dead)
 * 72    int guest_sleeping  guest: 1 while (about to be) in FUTEX_WAIT on done
 * 76    int closed          host: 1 once the session is over; nothing more will be served
 * 80    int taken           host: sequence number of the batch it is executing (set when it takes one)
 * 128   ops[MAX_OPS]        CopyBatch.INTS ints each
 * STATUS_OFFSET  i32 status[MAX_OPS]   one GNTST per op of the latest batch
 * </pre>
 * The host trusts nothing here but its own snapshot: it reads {@code count} once, copies the ops into private
 * memory before validating them, and the caller is the authenticated session's domain, never a page field.
 */
final class CopyPage {
    static final int MAX_OPS = 512;
    static final long REQUEST = 0;
    static final long COUNT = 4;
    static final long HOST_SLEEPING = 8;
    static final long DONE = 64;
    static final long RESULT = 68;
    static final long GUEST_SLEEPING = 72;
    static final long CLOSED = 76;
    static final long TAKEN = 80;
    static final long OPS_OFFSET = 128;
    static final long STATUS_OFFSET = OPS_OFFSET + (long) MAX_OPS * CopyBatch.INTS * Integer.BYTES;
    static final long SIZE = STATUS_OFFSET + (long) MAX_OPS * Integer.BYTES;
    /**
     * How long a side spins before sleeping. It must exceed the other side's futex wake-up latency (tens of us
     * on a loaded VM): otherwise, once one side has slept, each batch finds the other asleep too and every call
     * pays two wake-ups (~100 us measured with 50 us). Costs at most this much CPU per idle period.
     */
    static final long SPIN_NANOS = 250_000;
    static final long PURE_SPIN_NANOS = 500;

    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private final MemorySegment page;
    private final MemorySegment requestWord;
    private final MemorySegment doneWord;

    CopyPage(MemorySegment page) {
        if (page.byteSize() < SIZE) throw new IllegalArgumentException("hypercall page of " + page.byteSize());
        this.page = page;
        this.requestWord = page.asSlice(REQUEST, 4);
        this.doneWord = page.asSlice(DONE, 4);
    }

    int get(long offset) {
        return (int) INT.getVolatile(page, offset);
    }

    void set(long offset, int value) {
        INT.setVolatile(page, offset, value);
    }

    /**
     * Writes a word that a later {@link #publish} makes visible (count before request, result before done):
     * no fence of its own, where a volatile store would drain the ops or statuses just written.
     */
    void setBeforePublish(long offset, int value) {
        INT.setRelease(page, offset, value);
    }

    /** Publishes {@code value} in the futex word at {@code word}, waking its waiter if it announced sleep. */
    void publish(long word, int value, long sleepingFlag) {
        set(word, value);
        if (get(sleepingFlag) != 0) Futex.wake(word == REQUEST ? requestWord : doneWord, 1);
    }

    /**
     * Waits until the word at {@code word} differs from {@code old} or the page is closed: spins for
     * {@link #SPIN_NANOS}, then sleeps with {@code sleepingFlag} raised. Returns false if closed.
     */
    boolean awaitChange(long word, int old, long sleepingFlag) {
        return awaitChange(word, old, sleepingFlag, -1, 0);
    }

    /**
     * {@link #awaitChange(long, int, long)} that also knows when the peer is at work on what we wait for: while
     * the int at {@code busyWord} is {@code busyValue}, the peer has taken our batch, so it is running, and not
     * on our core, since we were spinning there. Then we keep spinning instead of yielding, as an adaptive
     * mutex spins while the lock's owner runs on another CPU. {@code busyWord} -1: no such word.
     */
    boolean awaitChange(long word, int old, long sleepingFlag, long busyWord, int busyValue) {
        long start = System.nanoTime();
        while (get(word) == old) {
            if (get(CLOSED) != 0) return false;
            long waited = System.nanoTime() - start;
            if (waited > SPIN_NANOS) {
                sleep(word, old, sleepingFlag);
                break;
            }
            // Yield almost at once, unless the peer is known to run: with more runnable threads than cores (a
            // busy 2-core machine) the peer we wait for may be queued behind us on this very core, and every
            // microsecond we spin it cannot run (measured per batch: 27 us with 10 us of pure spinning, 11 us
            // with 2 us, 7.5 us with 0.5 us). When the two threads have a core each, the yields' system calls
            // notice the answer late: cross-process cold 64-op batches reached a median 69% of the plain copy
            // yielding, 78% spinning while the batch is taken. (The host only writes `taken` and never reads
            // it: a guest that writes it itself only makes itself spin.)
            if (waited > PURE_SPIN_NANOS && (busyWord < 0 || get(busyWord) != busyValue)) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
        return get(CLOSED) == 0 && get(word) != old;
    }

    /** A store the other side polls, without a fence: it becomes visible as soon as the store buffer drains. */
    void mark(long offset, int value) {
        INT.setRelease(page, offset, value);
    }

    private void sleep(long word, int old, long sleepingFlag) {
        MemorySegment futex = word == REQUEST ? requestWord : doneWord;
        set(sleepingFlag, 1);
        try {
            while (get(word) == old && get(CLOSED) == 0) Futex.await(futex, old);
        } finally {
            set(sleepingFlag, 0);
        }
    }

    void writeOps(int[] ops, int from, int count) {
        MemorySegment.copy(ops, from * CopyBatch.INTS, page, ValueLayout.JAVA_INT, OPS_OFFSET, count * CopyBatch.INTS);
    }

    void readOps(int[] into, int count) {
        MemorySegment.copy(page, ValueLayout.JAVA_INT, OPS_OFFSET, into, 0, count * CopyBatch.INTS);
    }

    /**
     * The host's statuses, written from the first one that differs from what the page holds: host and guest
     * run on different cores, and a store of an unchanged value still takes the cache line from the guest,
     * which must then fetch it back; statuses that repeat (all OKAY, typically) stay shared and the guest reads
     * them from its own cache. Only the host does this: it is C2-compiled, where the compare is a vectorised
     * intrinsic, while guests run C1 only by default (HypervisorService.DEFAULT_GUEST_JVM_OPTIONS), where comparing
     * a batch's ops costs more than rewriting them.
     */
    void writeStatus(int[] status, int count) {
        MemorySegment src = MemorySegment.ofArray(status);
        long bytes = (long) count * Integer.BYTES;
        long first = MemorySegment.mismatch(src, 0, bytes, page, STATUS_OFFSET, STATUS_OFFSET + bytes);
        if (first < 0) return;
        first &= ~(Integer.BYTES - 1L);
        MemorySegment.copy(src, first, page, STATUS_OFFSET + first, bytes - first);
    }

    void readStatus(int[] into, int at, int count) {
        MemorySegment.copy(page, ValueLayout.JAVA_INT, STATUS_OFFSET, into, at, count);
    }

    /**
     * Ends the session's page: both sides' waits return, no new batch is served. The futex words themselves
     * change too: a waiter that checked CLOSED just before it was set then finds its FUTEX_WAIT's expected
     * value stale and returns, instead of sleeping through the wake.
     */
    void close() {
        set(CLOSED, 1);
        INT.getAndAdd(page, REQUEST, 1);
        INT.getAndAdd(page, DONE, 1);
        Futex.wake(requestWord, Integer.MAX_VALUE);
        Futex.wake(doneWord, Integer.MAX_VALUE);
    }
}
