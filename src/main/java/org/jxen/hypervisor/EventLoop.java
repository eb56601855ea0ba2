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
    /** Descriptors watched beside the events; made by the first {@link #watch}, closed by {@link #stop}. */
    private volatile FdWatch fds;

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

    void start() {
        thread.start();
    }

    @Override
    public void run() {
        clock.enter();
        try {
            loop();
        } finally {
            FdWatch w;
            synchronized (this) {
                stopped = true;
                w = fds;
                fds = null;
            }
            if (w != null) w.close();
            clock.leave();
        }
    }

    private void loop() {
        while (!stopped && page.runstate() != EventPage.DEAD) {
            FdWatch w = fds;
            boolean running = page.runstate() == EventPage.RUNNING;
            if (running && deliverAll()) {
                if (w != null) w.poll(0); // the devices get a turn between batches of events
                continue;
            }
            if (delivery == Delivery.POLLING) {
                if (running && w != null) w.poll(0);
                Thread.onSpinWait();
                continue;
            }
            if (running && w != null && w.any()) {
                sleepInEpoll(w);
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

    /**
     * One wait for both the event channels (their senders write the eventfd: {@link EventPage#wakeIfSleeping}) and
     * the watched descriptors. The same announce-then-re-check as the futex sleep, so no event is lost; a readable
     * descriptor is served whether or not the thread slept.
     */
    private void sleepInEpoll(FdWatch w) {
        page.setSleepingInEpoll();
        boolean ready = stopped || page.anyDeliverable() || fifo.anyReady() || page.runstate() != EventPage.RUNNING;
        w.poll(ready ? 0 : -1);
        page.setSleeping(false);
    }

    /** Has {@code onReadable} run on this thread whenever {@code fd} is readable while the domain runs. */
    void watch(int fd, Runnable onReadable) {
        FdWatch w;
        synchronized (this) {
            if (stopped) throw new IllegalStateException("the domain's event thread has stopped");
            w = fds;
            if (w == null) {
                w = new FdWatch();
                w.publish(page);
                fds = w;
            }
            w.watch(fd, onReadable);
        }
        page.wakeIfSleeping(); // a thread asleep on the futex word moves to epoll_wait
    }

    void arm(int fd, boolean armed) {
        FdWatch w = fds;
        if (w != null) w.arm(fd, armed);
    }

    void unwatch(int fd) {
        FdWatch w = fds;
        if (w != null) w.unwatch(fd);
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
        synchronized (this) {
            stopped = true;
        }
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
