package org.jxen.hypervisor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import org.jxen.libc.ThreadClock;

/**
 * A domain's event thread: Linux's upcall handler plus the idle loop. It delivers pending-and-unmasked ports
 * while the domain runs; otherwise it announces it will sleep, re-checks (a sender that set a bit before seeing
 * the announcement is caught here) and waits on the futex word. It serves both ABIs on every pass: the FIFO
 * queues when the domain is on FIFO, and the 2-level selector always, which is empty on FIFO except for a send
 * that read the ABI just before the switch (so nothing sent across the switch is lost).
 */
final class EventLoop implements Runnable {
    private final EventPage page;
    private final FifoConsumer fifo;
    private final EventHandler handler;
    private final EventHandler guarded = this::deliver;
    private final Delivery delivery;
    private volatile boolean stopped;
    private final Thread thread;
    private final VcpuClock clock;

    /**
     * How many event threads that could be virtual a process keeps as platform threads: a poller's hop costs a
     * busy guest's data path 10-25% (in-process 4 KiB random reads, docs/bench.md "Session 15"), while a few
     * dozen platform threads cost JVM-wide operations nothing that shows. The system property
     * {@code jxen.platformEventThreads} changes it (0: every such thread virtual).
     */
    private static final int DEFAULT_PLATFORM_EVENT_THREADS = 64;
    private static final AtomicInteger PLATFORM_IN_USE = new AtomicInteger();
    /** This thread could have been virtual and is one of the {@link #PLATFORM_IN_USE} platform threads. */
    private final boolean countedPlatform;

    /** Takes one of the platform places if one is left. */
    private static boolean platformPlaceLeft() {
        int limit = Integer.getInteger("jxen.platformEventThreads", DEFAULT_PLATFORM_EVENT_THREADS);
        while (true) {
            int n = PLATFORM_IN_USE.get();
            if (n >= limit) return false;
            if (PLATFORM_IN_USE.compareAndSet(n, n + 1)) return true;
        }
    }

    /** Where a virtual event thread sleeps (a poller waits on its word), or null for a platform thread. */
    private final FutexPoller.Slot slot;
    /** A virtual thread's buffer for its carrier's clock ({@link #deliverAllTimed}). */
    private final MemorySegment timespec;

    /**
     * @param clock where the thread's CPU time is counted: all of it is the domain's (its vCPU)
     * @param virtual a virtual thread that sleeps through a {@link FutexPoller} (where the kernel has one), for
     *        the domains of a host's own process: thousands of them are thousands of platform threads otherwise
     */
    EventLoop(EventPage page, FifoConsumer fifo, EventHandler handler, Delivery delivery, String name,
            VcpuClock clock, boolean virtual) {
        this.clock = clock;
        this.page = page;
        this.fifo = fifo;
        this.handler = handler;
        this.delivery = delivery;
        boolean eligible = virtual && delivery == Delivery.BLOCKING && FutexPoller.available();
        this.countedPlatform = eligible && platformPlaceLeft();
        boolean v = eligible && !countedPlatform;
        this.slot = v ? FutexPoller.slot(page.sleepingWord(), page.wakeKey()) : null;
        this.timespec = v ? ThreadClock.timespec(Arena.ofAuto()) : null;
        this.thread = v ? Thread.ofVirtual().name(name).unstarted(this)
                : Thread.ofPlatform().daemon().name(name).unstarted(this);
    }

    /**
     * Starts the thread. A platform thread's stack is two of the process's mappings: with thousands of domains
     * those count like any other (a host that ran out would crash in the JVM's next mapping), so they come from
     * the budget.
     */
    void start() {
        if (slot != null) {
            try {
                thread.start();
            } catch (RuntimeException | Error e) {
                slot.release();
                throw e;
            }
            return;
        }
        try {
            MapCount.reserve(MapCount.THREAD);
        } catch (RuntimeException | Error e) {
            if (countedPlatform) PLATFORM_IN_USE.decrementAndGet();
            throw e;
        }
        try {
            thread.start();
        } catch (RuntimeException | Error e) {
            MapCount.release(MapCount.THREAD);
            if (countedPlatform) PLATFORM_IN_USE.decrementAndGet();
            throw e;
        }
    }

    @Override
    public void run() {
        clock.enter();
        try {
            loop();
        } finally {
            clock.leave();
            if (slot != null) {
                slot.release();
            } else {
                MapCount.release(MapCount.THREAD);
                if (countedPlatform) PLATFORM_IN_USE.decrementAndGet();
            }
        }
    }

    private void loop() {
        while (!stopped && page.runstate() != EventPage.DEAD) {
            if (page.runstate() == EventPage.RUNNING && (slot != null ? deliverAllTimed() : deliverAll())) continue;
            if (delivery == Delivery.POLLING) {
                Thread.onSpinWait();
                continue;
            }
            page.setSleeping(true);
            if (stopped || (page.runstate() == EventPage.RUNNING && (page.anyDeliverable() || fifo.anyReady()))
                    || page.runstate() == EventPage.DEAD) {
                page.setSleeping(false);
                continue;
            }
            if (slot != null) {
                slot.await();
            } else {
                page.sleep();
            }
            page.setSleeping(false);
        }
    }

    /**
     * A virtual thread's round of deliveries, timed on its carrier's CPU clock (the JVM has none for a virtual
     * thread). A round that parked and went on on another carrier read two different threads' clocks: their
     * difference is no time of this round's, and almost never one it could be (between zero and the round's
     * length), which is what is counted. Asking the carrier's thread id instead took two more system calls a round.
     */
    private boolean deliverAllTimed() {
        long began = System.nanoTime();
        long start = ThreadClock.nanos(timespec);
        boolean any = deliverAll();
        long cpu = ThreadClock.nanos(timespec) - start;
        if (start >= 0 && cpu >= 0 && cpu <= System.nanoTime() - began) clock.add(cpu);
        return any;
    }

    private boolean deliverAll() {
        boolean any = fifo.consume(guarded);
        return deliver2l() | any;
    }

    /** Linux's 2-level upcall: take the selector, then only the pending words it names. */
    private boolean deliver2l() {
        boolean any = false;
        for (int s = 0; s < EventPage.SELECTOR_WORDS; s++) {
            long words = page.takeSelector(s);
            while (words != 0) {
                int w = s * 64 + Long.numberOfTrailingZeros(words);
                words &= words - 1;
                long bits = page.deliverable(w);
                while (bits != 0) {
                    int port = w * 64 + Long.numberOfTrailingZeros(bits);
                    bits &= bits - 1;
                    if (page.takePending(port)) {
                        any = true;
                        deliver(port);
                    }
                }
            }
        }
        return any;
    }

    private void deliver(int port) {
        try {
            handler.onEvent(port);
        } catch (RuntimeException e) {
            // A faulty handler must not kill the domain's only event thread; Linux would oops, we report and go on.
            System.err.println("event handler for port " + port + " failed: " + e);
        }
    }

    void stop() {
        stopped = true;
        page.wakeIfSleeping();
        if (Thread.currentThread() != thread) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                // A handler that does not return blocks teardown; say where it is stuck.
                StringBuilder where = new StringBuilder();
                for (StackTraceElement f : thread.getStackTrace()) where.append("\n\tat ").append(f);
                System.getLogger("jxen.hypervisor").log(System.Logger.Level.WARNING,
                        thread.getName() + " did not stop within 5 s:" + where);
            }
        }
    }
}
