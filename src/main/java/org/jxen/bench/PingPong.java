package org.jxen.bench;

import java.util.concurrent.locks.LockSupport;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.EventHandler;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;

/**
 * The host side of the ping-pong. Each echo's arrival on dom0's event thread is timed against its ping's send;
 * latency is half the round trip: both directions are the same path (a send, a wake-up, a handler call) in the
 * same delivery mode, and one clock (the sender's nanoTime) avoids comparing clocks across processes.
 *
 * <p>Two pacings. {@link #backToBack}: the handler sends the next ping itself, the right measure for polling
 * receivers. {@link #toBlockedReceiver}: a pacer thread sends each ping only once getdomaininfo has said the
 * guest is blocked for {@link #SETTLE_NANOS} and again just before the send, so every ping wakes an event
 * thread asleep in FUTEX_WAIT on a vCPU that had time to go idle. Back to back, a "blocking" pair mostly never
 * sleeps: each side's next event arrives while it still rescans its bitmaps after the last one.
 */
final class PingPong implements EventHandler {
    /** How long the receiver must have been blocked before a ping: tools/futex-pingpong.c's usleep(50). */
    static final long SETTLE_NANOS = 50_000;

    private final Hypercalls dom0;
    private final int port;
    /** Non-null when pacing to a blocked receiver. */
    private final DomainControl ctl;
    private final int guest;
    final LatencyHistogram halfRtt = new LatencyHistogram();
    private volatile boolean running;
    private volatile boolean recording;
    private volatile boolean idle = true;
    private volatile boolean awaitingEcho;
    private volatile boolean lost;
    private volatile Thread pacer;
    private long sentAt;
    /** Written only by the handler thread; volatile so the bench can see that the chain is moving. */
    private volatile long rounds;
    private volatile long errors;

    private PingPong(Hypercalls dom0, int port, DomainControl ctl, int guest) {
        this.dom0 = dom0;
        this.port = port;
        this.ctl = ctl;
        this.guest = guest;
    }

    static PingPong backToBack(Hypercalls dom0, int port) {
        return new PingPong(dom0, port, null, -1);
    }

    static PingPong toBlockedReceiver(Hypercalls dom0, int port, int guest) {
        return new PingPong(dom0, port, dom0.domainControl(), guest);
    }

    @Override
    public void onEvent(int p) {
        long now = System.nanoTime();
        if (p != port) return;
        if (ctl != null) {
            // Paced: only the echo of the ping in flight counts (the bind's stray arrives before any ping).
            if (!awaitingEcho) return;
            count(now);
            awaitingEcho = false;
            LockSupport.unpark(pacer);
            return;
        }
        if (!running) {
            idle = true;
            return;
        }
        count(now);
        ping();
    }

    private void count(long now) {
        if (recording) {
            halfRtt.record((now - sentAt) / 2);
            rounds++;
        }
    }

    private void ping() {
        sentAt = System.nanoTime();
        try {
            dom0.send(port);
        } catch (HypercallException e) {
            errors++;
            idle = true;
            awaitingEcho = false;
        }
    }

    void start() {
        running = true;
        if (ctl == null) {
            idle = false;
            ping();
            return;
        }
        Thread t = Thread.ofPlatform().daemon().name("bench-pacer").unstarted(this::pace);
        pacer = t;
        t.start();
    }

    /** The pacer's loop: wait for the guest to block, ping, park until the echo (lost after 2 s). */
    private void pace() {
        try {
            while (awaitGuestBlocked()) {
                awaitingEcho = true;
                ping();
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (awaitingEcho) {
                    if (System.nanoTime() > deadline) {
                        lost = true;
                        return;
                    }
                    LockSupport.parkNanos(1_000_000);
                }
            }
        } catch (HypercallException e) {
            errors++;
        }
    }

    /** True once the guest has been blocked for the settle time; false if the bench is stopping. */
    private boolean awaitGuestBlocked() throws HypercallException {
        while (running) {
            if (ctl.info(guest).blocked()) {
                LockSupport.parkNanos(SETTLE_NANOS);
                if (ctl.info(guest).blocked()) return running;
            } else {
                LockSupport.parkNanos(SETTLE_NANOS / 5);
            }
        }
        return false;
    }

    void record(boolean on) {
        recording = on;
    }

    /** Ends the chain after the ping in flight returns; false (a lost event) if it never does. */
    boolean stop() throws InterruptedException {
        running = false;
        Thread t = pacer;
        if (t != null) {
            LockSupport.unpark(t);
            t.join(5000);
            return !lost && !t.isAlive();
        }
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (!idle) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(1);
        }
        return true;
    }

    /** Read after {@link #stop}: the handler thread wrote these before its volatile {@code idle} store. */
    long rounds() {
        return rounds;
    }

    long errors() {
        return errors;
    }
}
