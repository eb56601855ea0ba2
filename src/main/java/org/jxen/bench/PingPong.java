package org.jxen.bench;

import org.jxen.hypervisor.EventHandler;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;

/**
 * The host side of the ping-pong, run entirely on dom0's event thread: each echo's arrival is timed against its
 * ping's send and the next ping goes out from the handler, so no extra thread hand-off is measured. Latency is
 * half the round trip: both directions are the same path (a send, a wake-up, a handler call) in the same
 * delivery mode, and one clock (the sender's nanoTime) avoids comparing clocks across processes.
 */
final class PingPong implements EventHandler {
    private final Hypercalls dom0;
    private final int port;
    final LatencyHistogram halfRtt = new LatencyHistogram();
    private volatile boolean running;
    private volatile boolean recording;
    private volatile boolean idle = true;
    private long sentAt;
    /** Written only by the handler thread; volatile so the bench can see that the chain is moving. */
    private volatile long rounds;
    private long errors;

    PingPong(Hypercalls dom0, int port) {
        this.dom0 = dom0;
        this.port = port;
    }

    @Override
    public void onEvent(int p) {
        // Strays (the pending bit the bind itself sets) arrive while not running and end nothing.
        if (p != port || !running) {
            idle = true;
            return;
        }
        long now = System.nanoTime();
        if (recording) {
            halfRtt.record((now - sentAt) / 2);
            rounds++;
        }
        ping();
    }

    private void ping() {
        sentAt = System.nanoTime();
        try {
            dom0.send(port);
        } catch (HypercallException e) {
            errors++;
            idle = true;
        }
    }

    void start() {
        idle = false;
        running = true;
        ping();
    }

    void record(boolean on) {
        recording = on;
    }

    /** Ends the chain after the ping in flight returns; false (a lost event) if it never does. */
    boolean stop() throws InterruptedException {
        running = false;
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
