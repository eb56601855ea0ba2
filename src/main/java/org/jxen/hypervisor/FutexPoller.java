package org.jxen.hypervisor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
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

    /** A place with one of the pollers for a sleeper's word, until {@link Slot#release}. */
    static Slot slot(MemorySegment word) {
        synchronized (POLLERS) {
            for (Poller p : POLLERS) {
                if (p.assigned < WORDS_PER_POLLER) {
                    p.assigned++;
                    return new Slot(p, word);
                }
            }
            Poller p = new Poller(POLLERS.size());
            POLLERS.add(p);
            p.assigned++;
            return new Slot(p, word);
        }
    }

    /** A virtual thread's way to sleep on one futex word. */
    static final class Slot {
        private final Poller poller;
        private final MemorySegment word;
        private volatile Thread sleeper;
        private volatile boolean woken;
        private boolean released;

        private Slot(Poller poller, MemorySegment word) {
            this.poller = poller;
            this.word = word;
        }

        /**
         * Sleeps while the word is 1 (the caller set it): returns once a poller has seen it change, or at once
         * if it is not 1 now.
         */
        void await() {
            if ((int) INT.getVolatile(word, 0L) != 1) return;
            woken = false;
            sleeper = Thread.currentThread();
            poller.arrive(this);
            while (!woken) LockSupport.park(this);
            sleeper = null;
        }

        /** Gives the place back (the event thread ends). */
        void release() {
            synchronized (POLLERS) {
                if (released) return;
                released = true;
                poller.assigned--;
            }
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

        /** Wakes the sleepers whose word changed and keeps the others, in order; returns how many are kept. */
        private int sweep() {
            int kept = 0;
            for (int i = 0; i < count; i++) {
                Slot s = waiting[i];
                if (asleep(s.word)) {
                    waiting[kept++] = s;
                } else {
                    s.wake();
                }
            }
            for (int i = kept; i < count; i++) waiting[i] = null;
            return kept;
        }
    }
}
