package org.jxen.hypervisor;

import org.jxen.libc.Futex;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Flyweight over page 0 of a domain's event file: the shared_info evtchn_pending/evtchn_mask bitmaps plus the
 * futex words a sleeping receiver waits on. Senders in any process set a pending bit with an atomic OR and wake
 * the receiver only if it announced it is asleep; both sides use volatile accesses (sequentially consistent),
 * so either the receiver's re-check sees the bit or the sender sees {@code sleeping == 1}: no lost wake-ups.
 *
 * <pre>
 * 0    int  sleeping   futex word: 1 while the event thread is (about to be) blocked in FUTEX_WAIT
 * 4    int  runstate   0 running, 1 paused, 2 dead, 3 suspended: written by the hypervisor (which wakes its
 *                        futex waiters), the event thread delivers only at 0; threads of a paused domain wait
 *                        on it at their next hypercall
 * 8    long pending_sel[2]  bit w set when word w of pending gained an unmasked port (vcpu_info's evtchn_pending_sel)
 * 24   int  suspend_result  what SCHEDOP_shutdown(suspend) returns once resumed: 1 cancelled, 0 in a new domain
 * 28   int  busy       how many of the domain's threads run guest code outside the event thread (xl exec's
 *                        commands): the domain is blocked only if none does and the event thread sleeps
 * 64   long pending[128]  8192 ports, bit (port % 64) of word (port / 64)
 * 1088 long mask[128]
 * </pre>
 * The FIFO ABI's shared state follows this page ({@link FifoArea}), then the port table ({@link PortTable}).
 */
public final class EventPage {
    public static final int MAX_PORTS = 8192;
    public static final int SIZE = 4096;
    static final long SLEEPING_OFFSET = 0;
    static final long RUNSTATE_OFFSET = 4;
    static final long SELECTOR_OFFSET = 8;
    static final long SUSPEND_RESULT_OFFSET = 24;
    static final long BUSY_OFFSET = 28;
    static final long PENDING_OFFSET = 64;
    static final long MASK_OFFSET = PENDING_OFFSET + MAX_PORTS / 8;
    static final int WORDS = MAX_PORTS / 64;
    static final int SELECTOR_WORDS = WORDS / 64;

    public static final int RUNNING = 0;
    public static final int PAUSED = 1;
    public static final int DEAD = 2;
    /** Shut down for suspend: events are held, and the suspend hypercall waits, until resumed or destroyed. */
    public static final int SUSPENDED = 3;

    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment page;
    private final MemorySegment sleepingWord;
    private final MemorySegment runstateWord;
    /** What the domain is known by in this process, for a sleeper here ({@link FutexPoller#localSlot}); or null. */
    private final Object wakeKey;
    /** The sleeper {@link #wakeKey} found here, and when: two volatile reads per wake instead of a map lookup. */
    private volatile LocalSleeper localSleeper;

    /** {@code slot}: the sleeper in this process (null: none here) while the poller's changes are {@code changes}. */
    private record LocalSleeper(FutexPoller.Slot slot, int changes) {}

    public EventPage(MemorySegment page) {
        this(page, null);
    }

    /** {@code wakeKey}: the domain's identity in this process (its event file), so wakes find a sleeper here. */
    EventPage(MemorySegment page, Object wakeKey) {
        this.page = page;
        this.sleepingWord = page.asSlice(SLEEPING_OFFSET, 4);
        this.runstateWord = page.asSlice(RUNSTATE_OFFSET, 4);
        this.wakeKey = wakeKey;
    }

    Object wakeKey() {
        return wakeKey;
    }

    private static long bitWord(long base, int port) {
        return base + (long) (port >>> 6) * 8;
    }

    public boolean isPending(int port) {
        return ((long) LONG.getVolatile(page, bitWord(PENDING_OFFSET, port)) & (1L << port)) != 0;
    }

    public boolean isMasked(int port) {
        return ((long) LONG.getVolatile(page, bitWord(MASK_OFFSET, port)) & (1L << port)) != 0;
    }

    /**
     * evtchn_2l_set_pending: returns true if this call made the port deliverable (it was not already pending and
     * is not masked), in which case its word is marked in the selector and a sleeping receiver has been woken.
     */
    public boolean raise(int port) {
        long bit = 1L << port;
        long was = (long) LONG.getAndBitwiseOr(page, bitWord(PENDING_OFFSET, port), bit);
        if ((was & bit) != 0 || isMasked(port)) return false;
        select(port);
        wakeIfSleeping();
        return true;
    }

    /**
     * Marks the port's pending word in the selector, so the receiver reads that word and not all 128 of them
     * (a scan of the whole bitmap on every wake-up cost a guest's event thread more than its deliveries).
     */
    private void select(int port) {
        int w = port >>> 6;
        long unused = (long) LONG.getAndBitwiseOr(page, SELECTOR_OFFSET + (long) (w >>> 6) * 8, 1L << w);
    }

    public void mask(int port) {
        long unused = (long) LONG.getAndBitwiseOr(page, bitWord(MASK_OFFSET, port), 1L << port);
    }

    /** Clearing the mask of a pending port delivers it, as EVTCHNOP_unmask does (selector bit, then wake). */
    public void unmask(int port) {
        long unused = (long) LONG.getAndBitwiseAnd(page, bitWord(MASK_OFFSET, port), ~(1L << port));
        if (isPending(port)) {
            select(port);
            wakeIfSleeping();
        }
    }

    /** Resets a port for a new binding: not pending, not masked (Linux unmasks a port once it is bound). */
    void reset(int port) {
        long unused = (long) LONG.getAndBitwiseAnd(page, bitWord(PENDING_OFFSET, port), ~(1L << port));
        unused = (long) LONG.getAndBitwiseAnd(page, bitWord(MASK_OFFSET, port), ~(1L << port));
    }

    /** Pending and unmasked ports of word {@code w}, the event thread's scan. */
    long deliverable(int w) {
        long pending = (long) LONG.getVolatile(page, PENDING_OFFSET + w * 8L);
        if (pending == 0) return 0;
        return pending & ~(long) LONG.getVolatile(page, MASK_OFFSET + w * 8L);
    }

    /**
     * Takes selector word {@code s} (Linux's xchg of evtchn_pending_sel): the pending words marked since the last
     * take. A port raised after this still finds its bit set or sets it again, so nothing is missed.
     */
    long takeSelector(int s) {
        return (long) LONG.getAndSet(page, SELECTOR_OFFSET + s * 8L, 0L);
    }

    /** Whether a port was marked deliverable since the selector was last taken: the sleeper's re-check. */
    boolean anyDeliverable() {
        for (int s = 0; s < SELECTOR_WORDS; s++) {
            if ((long) LONG.getVolatile(page, SELECTOR_OFFSET + s * 8L) != 0) return true;
        }
        return false;
    }

    /** Clears the pending bit before the upcall, as Linux's evtchn handler does; false if someone else took it. */
    boolean takePending(int port) {
        long bit = 1L << port;
        return ((long) LONG.getAndBitwiseAnd(page, bitWord(PENDING_OFFSET, port), ~bit) & bit) != 0;
    }

    public int runstate() {
        return (int) INT.getVolatile(page, RUNSTATE_OFFSET);
    }

    void setRunstate(int state) {
        INT.setVolatile(page, RUNSTATE_OFFSET, state);
        wakeIfSleeping();
        Futex.wake(runstateWord, Integer.MAX_VALUE); // a suspend hypercall waiting for its resume, paused threads
    }

    /** Blocks while the runstate is still {@code seen} (or returns at once if it already changed). */
    void awaitRunstateChange(int seen) {
        Futex.await(runstateWord, seen);
    }

    int suspendResult() {
        return (int) INT.getVolatile(page, SUSPEND_RESULT_OFFSET);
    }

    void setSuspendResult(int result) {
        INT.setVolatile(page, SUSPEND_RESULT_OFFSET, result);
    }

    /**
     * Holds the calling thread while the domain is paused, as Xen deschedules a paused domain's vCPUs: a
     * platform thread sleeps on the runstate word until the hypervisor changes it; a virtual thread polls
     * (parking), since a futex wait would pin its carrier, which the host's other virtual threads need.
     */
    void awaitNotPaused() {
        boolean virtual = Thread.currentThread().isVirtual();
        while (runstate() == PAUSED) {
            if (virtual) {
                java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
            } else {
                Futex.await(runstateWord, PAUSED);
            }
        }
    }

    /** A thread of the domain starts ({@code +1}) or stops ({@code -1}) running guest code. */
    void addBusy(int delta) {
        int unused = (int) INT.getAndAdd(page, BUSY_OFFSET, delta);
    }

    int busy() {
        return (int) INT.getVolatile(page, BUSY_OFFSET);
    }

    boolean sleeping() {
        return (int) INT.getVolatile(page, SLEEPING_OFFSET) == 1;
    }

    void setSleeping(boolean sleeping) {
        INT.setVolatile(page, SLEEPING_OFFSET, sleeping ? 1 : 0);
    }

    /** The futex word {@link #sleep} waits on (for a {@link FutexPoller}). */
    MemorySegment sleepingWord() {
        return sleepingWord;
    }

    /** Blocks while the sleeping word is still 1, i.e. until a waker clears it. */
    void sleep() {
        Futex.await(sleepingWord, 1);
    }

    void wakeIfSleeping() {
        if ((int) INT.getAndSet(page, SLEEPING_OFFSET, 0) == 1 && !wakeInThisProcess()) {
            Futex.wake(sleepingWord, Integer.MAX_VALUE);
        }
    }

    /**
     * Unparks the domain's sleeper if it sleeps in this process; false if it does not (or its slot is gone), and
     * the caller futex-wakes the word, which wakes any sleeper. What the lookup found is kept until the process's
     * sleepers change: in-process data paths wake on every request, and a lookup was 2% of a guest's event thread.
     */
    private boolean wakeInThisProcess() {
        if (wakeKey == null) return false;
        int changes = FutexPoller.localChanges();
        LocalSleeper l = localSleeper;
        if (l == null || l.changes() != changes) {
            l = new LocalSleeper(FutexPoller.localSlot(wakeKey), changes);
            localSleeper = l;
        }
        return l.slot() != null && l.slot().wakeLocal();
    }

    MemorySegment runstateWord() {
        return runstateWord;
    }
}
