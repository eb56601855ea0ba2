package org.jxen.hypervisor;

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

    /** @param clock where the thread's CPU time is counted: all of it is the domain's (its vCPU) */
    EventLoop(EventPage page, FifoConsumer fifo, EventHandler handler, Delivery delivery, String name,
            VcpuClock clock) {
        this.clock = clock;
        this.page = page;
        this.fifo = fifo;
        this.handler = handler;
        this.delivery = delivery;
        this.thread = Thread.ofPlatform().daemon().name(name).unstarted(this);
    }

    /**
     * Starts the thread, whose stack is two of the process's mappings: with thousands of domains those count
     * like any other (a host that ran out would crash in the JVM's next mapping), so they come from the budget.
     */
    void start() {
        MapCount.reserve(MapCount.THREAD);
        try {
            thread.start();
        } catch (RuntimeException | Error e) {
            MapCount.release(MapCount.THREAD);
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
            MapCount.release(MapCount.THREAD);
        }
    }

    private void loop() {
        while (!stopped && page.runstate() != EventPage.DEAD) {
            if (page.runstate() == EventPage.RUNNING && deliverAll()) continue;
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
            page.sleep();
            page.setSleeping(false);
        }
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
