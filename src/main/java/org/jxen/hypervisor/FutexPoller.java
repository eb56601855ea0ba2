package org.jxen.hypervisor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.jxen.libc.Futex;

/**
 * Lets virtual threads sleep on futex words. A futex wait is a blocking system call, which pins a virtual
 * thread to its carrier; so event threads were platform threads, one per domain, and with thousands of
 * in-process domains every JVM-wide handshake walked thousands of stacks (closing a shared arena, which each
 * grant unmap does, took about 10 ms with 10,000 domains). Here a few platform threads wait instead, each on up
 * to 127 words at once with futex_waitv(2) (Linux 5.16), and unpark the virtual thread whose word was woken.
 *
 * <p>The protocol is the event page's: a sleeper has set its word to 1 before it asks; a waker sets it to 0 and
 * then futex-wakes it. A poller checks each word against 1 after every return (woken, a value already changed,
 * or its own control word bumped by a new sleeper), so a wake between its check and its next wait is seen by
 * futex_waitv's own compare, and none is lost.
 *
 * <p>A waker in the sleeper's own process need not go through the kernel: having taken the 1 out of the word it
 * unparks the sleeper itself ({@link Slot#wakeLocal}, found by the key its domain's event page is known by). The
 * sleeper's word then stays in its poller's wait (a slot stays armed until a poller sees its word other than 1,
 * which only a futex wake from another process or a released slot makes it look for), so the next sleep asks
 * the poller for nothing either: between domains of one process an event is a park and an unpark, not two
 * futex wakes, a poller's wake-up and a re-arm of its 128 words.
 */
final class FutexPoller {
    /**
     * Words per poller thread: futex_waitv's 128 less the poller's control word. The system property
     * {@code jxen.eventPollerWords} makes it smaller (a test that runs a host out of threads needs a new poller
     * every few guests).
     */
    static final int WORDS_PER_POLLER = Math.clamp(Integer.getInteger("jxen.eventPollerWords", Futex.WAITV_MAX - 1),
            1, Futex.WAITV_MAX - 1);
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private static final boolean AVAILABLE = probe();
    private static final List<Poller> POLLERS = new ArrayList<>();

    private FutexPoller() {
    }

    private static boolean probe() {
        if (!Boolean.parseBoolean(System.getProperty("jxen.eventPollers", "true"))) return false;
        try {
            return Futex.hasWaitv();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /**
     * Whether this kernel has futex_waitv (and {@code -Djxen.eventPollers=false} was not given): without it, event
     * threads stay platform threads.
     */
    static boolean available() {
        return AVAILABLE;
    }

    /** The slots of this process's sleepers by their domain's key, for wakers in the same process. */
    private static final ConcurrentHashMap<Object, Slot> LOCAL = new ConcurrentHashMap<>();
    /**
     * Bumped after every change to {@link #LOCAL}: a waker that looked its sleeper up (or found none) may use
     * what it found while this has not moved, and takes no map lookup per event ({@link EventPage}).
     */
    private static final AtomicInteger LOCAL_CHANGES = new AtomicInteger();

    /**
     * A place with one of the pollers for a sleeper's word, until {@link Slot#release}; with a {@code key} (what
     * the domain's event page is known by in this process), wakers here find it by {@link #localSlot}.
     */
    static Slot slot(MemorySegment word, Object key) {
        Slot slot;
        synchronized (POLLERS) {
            Poller free = null;
            for (Poller p : POLLERS) {
                if (p.assigned < WORDS_PER_POLLER) {
                    free = p;
                    break;
                }
            }
            if (free == null) {
                free = new Poller(POLLERS.size());
                POLLERS.add(free);
            }
            free.assigned++;
            slot = new Slot(free, word, key);
        }
        if (key != null) {
            LOCAL.put(key, slot);
            LOCAL_CHANGES.incrementAndGet();
        }
        return slot;
    }

    /** The slot of the sleeper known by {@code key} in this process, or null. */
    static Slot localSlot(Object key) {
        return LOCAL.get(key);
    }

    /**
     * How many times the sleepers of this process have changed: what {@link #localSlot} answered stays right while
     * this is the same (and a slot released since answers {@link Slot#wakeLocal} with false, so the waker falls back
     * to a futex wake, which is always right).
     */
    static int localChanges() {
        return LOCAL_CHANGES.get();
    }

    /** A virtual thread's way to sleep on one futex word. */
    static final class Slot {
        /** Not in a poller's hands. */
        private static final int IDLE = 0;
        /** Arriving at or waited on by its poller (which alone takes it back to IDLE). */
        private static final int ARMED = 1;
        /** Given back: no sleeper will come; added to either state above. */
        private static final int RELEASED = 2;

        private final Poller poller;
        private final MemorySegment word;
        private final Object key;
        private volatile Thread sleeper;
        private volatile boolean woken;
        private final AtomicInteger state = new AtomicInteger(IDLE);

        private Slot(Poller poller, MemorySegment word, Object key) {
            this.poller = poller;
            this.word = word;
            this.key = key;
        }

        /**
         * Sleeps while the word is 1 (the caller set it): returns once a waker or a poller has seen it change, or
         * at once if it is not 1 now. Who may wake is published before the word is read, so that a waker in this
         * process that takes the 1 after that read finds the thread to unpark.
         */
        void await() {
            sleeper = Thread.currentThread();
            woken = false;
            if ((int) INT.getVolatile(word, 0L) != 1) {
                sleeper = null;
                return;
            }
            if (state.compareAndSet(IDLE, ARMED)) poller.arrive(this);
            while (!woken) LockSupport.park(this);
            sleeper = null;
        }

        /** Gives the place back (the event thread ends); an armed slot's poller gives it back when it drops it. */
        void release() {
            if (key != null && LOCAL.remove(key, this)) LOCAL_CHANGES.incrementAndGet();
            int was = state.getAndUpdate(s -> s | RELEASED);
            if ((was & RELEASED) != 0) return;
            if (was == IDLE) {
                giveBack();
            } else {
                poller.nudge();
            }
        }

        private void giveBack() {
            synchronized (POLLERS) {
                poller.assigned--;
            }
        }

        /**
         * A waker in this process took the 1 out of the sleeper's word: unparks the sleeper (true), or answers false
         * if the slot was given back, and the caller futex-wakes the word.
         */
        boolean wakeLocal() {
            if ((state.get() & RELEASED) != 0) return false;
            wake();
            return true;
        }

        private void wake() {
            woken = true;
            Thread t = sleeper;
            if (t != null) LockSupport.unpark(t);
        }
    }

    /** Whether the word still says its thread sleeps; a word whose page is gone wakes its thread too. */
    private static boolean asleep(MemorySegment word) {
        try {
            return (int) INT.getVolatile(word, 0L) == 1;
        } catch (IllegalStateException unmapped) {
            return false;
        }
    }

    /** One platform thread waiting on up to {@link #WORDS_PER_POLLER} words and its control word. */
    private static final class Poller implements Runnable {
        /** Slots handed out (guarded by POLLERS): what decides whether a new sleeper may come here. */
        int assigned;
        private final ConcurrentLinkedQueue<Slot> arrivals = new ConcurrentLinkedQueue<>();
        private final Slot[] waiting = new Slot[WORDS_PER_POLLER];
        private int count;
        private final MemorySegment control;
        private final MemorySegment waiters;
        private final MemorySegment callState;

        Poller(int index) {
            Arena arena = Arena.ofAuto(); // lives as long as the poller, which lives as long as the JVM
            control = arena.allocate(ValueLayout.JAVA_INT);
            waiters = arena.allocate(Futex.WAITV_SIZE * Futex.WAITV_MAX, 8);
            callState = Futex.callState(arena);
            Thread.ofPlatform().daemon().name("futex-poller-" + index).start(this);
        }

        void arrive(Slot s) {
            arrivals.add(s);
            nudge();
        }

        /** Makes the poller look at its slots again. */
        void nudge() {
            INT.getAndAdd(control, 0L, 1);
            Futex.wake(control, 1);
        }

        @Override
        public void run() {
            while (true) waitOnce();
        }

        /**
         * One round: take the arrivals, wake whoever's word is no longer 1, wait on the rest. A method of its own,
         * called from a loop that does nothing else: as the body of run()'s endless loop it could only be compiled
         * on-stack, with everything it calls inlined into one unit, and each poller's thread had such a compile
         * of its own (100-250 ms of C2 each, about 0.75 s in all during a 1,000-guest boot).
         */
        private void waitOnce() {
            int seen = (int) INT.getVolatile(control, 0L);
            for (Slot s; (s = arrivals.poll()) != null; ) waiting[count++] = s;
            count = sweep();
            Futex.setWaiter(waiters, 0, control, seen);
            for (int i = 0; i < count; i++) Futex.setWaiter(waiters, i + 1, waiting[i].word, 1);
            Futex.waitv(waiters, count + 1, callState); // woken, EAGAIN or EINTR: all mean look again
        }

        /**
         * Wakes the sleepers whose word changed and keeps the others, in order; drops released slots and gives
         * their places back; returns how many are kept. A slot kept may have been woken in its own process since
         * (its word went to 0 and back to 1 without a futex wake): it is waited on again as it is.
         */
        private int sweep() {
            int kept = 0;
            for (int i = 0; i < count; i++) {
                Slot s = waiting[i];
                if (s.state.get() == Slot.ARMED && asleep(s.word)) {
                    waiting[kept++] = s;
                } else if (s.state.compareAndSet(Slot.ARMED, Slot.IDLE)) {
                    s.wake();
                } else {
                    s.giveBack(); // released while armed
                }
            }
            for (int i = kept; i < count; i++) waiting[i] = null;
            return kept;
        }
    }
}
