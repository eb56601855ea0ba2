package org.jxen.drivers.net.back;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;
import org.jxen.drivers.net.NetLink;
import org.jxen.drivers.net.Netif;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.RingOverflowException;
import org.jxen.xenbus.BackRings;
import org.jxen.xenbus.XenbusDevice;

/**
 * One queue of a vif (struct xenvif_queue): its tx and rx rings, their ports, dom0 staging pages for each
 * direction, and a tx thread (Linux's NAPI poll for this queue) that the tx event wakes. The rx side runs on the
 * vif's reader thread. A queue that meets a fatal frontend error stops and reports it to the vif.
 */
final class VifQueue {
    interface FatalHandler {
        void fatal(VifQueue q, String why);
    }

    final int index;
    private final XenbusDevice dev;
    private final int txPort;
    private final int rxPort;
    private final Staging txStaging;
    private final Staging rxStaging;
    final NetbackTx tx;
    final NetbackRx rx;
    private final FatalHandler onFatal;
    private final Thread txThread;
    private volatile boolean stopped;
    private volatile boolean txKicked = true;
    private final TxCredit credit = new TxCredit(System.nanoTime());
    /** Held by whichever thread serves the tx ring: the tx thread, or the event's thread within its budget. */
    private final java.util.concurrent.locks.ReentrantLock txLock = new java.util.concurrent.locks.ReentrantLock();
    /** NAPI's weight: the packets the event's thread serves before it hands the rest to the tx thread. */
    static final int TX_BUDGET = 64;

    /** @param keysSplit whether the rings were mapped with split channel keys (ports named "tx" and "rx") */
    VifQueue(XenbusDevice dev, BackRings.Queue ring, NetLink link, NetbackRx.Features features, boolean keysSplit,
            FatalHandler onFatal) {
        this.index = ring.index();
        this.dev = dev;
        this.onFatal = onFatal;
        this.txPort = ring.port(keysSplit ? "tx" : "");
        this.rxPort = ring.port(keysSplit ? "rx" : "");
        this.txStaging = new Staging(dev.xenbus(), dev.otherendId());
        this.rxStaging = new Staging(dev.xenbus(), dev.otherendId());
        this.tx = new NetbackTx(ring.backRing("tx", Netif.TX_ENTRY_SIZE), dev.xenbus().hypercalls(), txStaging, link);
        this.rx = new NetbackRx(ring.backRing("rx", Netif.RX_ENTRY_SIZE), dev.xenbus().hypercalls(), rxStaging, features,
                () -> notifyFrontend(rxPort));
        this.tx.credit(credit);
        this.txThread = Thread.ofPlatform().daemon().name(link.name() + "-q" + index + "-tx").unstarted(this::txLoop);
    }

    void start() {
        txThread.start();
    }

    /** An event on {@code channel}; one channel for both directions wakes both. */
    void event(String channel) {
        boolean shared = txPort == rxPort;
        if (shared || !channel.equals("rx")) txEvent();
        if (shared || channel.equals("rx")) rxEvent();
    }

    /** The tx channel's event. */
    void txEvent() {
        txKicked = true;
        // NAPI: the event's own thread serves up to a budget of packets (a lone packet then reaches the interface
        // one thread switch sooner); a longer burst goes on on the queue's tx thread.
        if (txThread.isAlive() && txLock.tryLock()) {
            boolean done;
            try {
                done = stopped || serveTx(TX_BUDGET);
            } finally {
                txLock.unlock();
            }
            if (done) return;
            txKicked = true;
        }
        LockSupport.unpark(txThread);
    }

    /** The rx channel's event. */
    void rxEvent() {
        rx.kick();
    }

    /** The queue's credit scheduler (the vif's rate). */
    TxCredit credit() {
        return credit;
    }

    private void txLoop() {
        while (!stopped) {
            if (!txKicked) {
                long retry = tx.creditRetry();
                if (retry == 0) {
                    LockSupport.park(this);
                } else {
                    long wait = retry - System.nanoTime();
                    if (wait > 0) LockSupport.parkNanos(this, wait);
                    else txKicked = true; // the credit timer fired (xenvif_tx_credit_callback)
                }
                continue;
            }
            txLock.lock();
            try {
                serveTx(Integer.MAX_VALUE);
            } finally {
                txLock.unlock();
            }
        }
    }

    /** Up to {@code budget} packets off the tx ring; true when it was drained (or the queue stopped). Under txLock. */
    private boolean serveTx(int budget) {
        txKicked = false;
        try {
            if (tx.process(budget)) notifyFrontend(txPort);
            return tx.drained();
        } catch (NetbackTx.Fatal e) {
            stopped = true;
            onFatal.fatal(this, e.getMessage());
        } catch (RuntimeException e) {
            stopped = true;
            onFatal.fatal(this, "netback internal error: " + e);
        }
        return true;
    }

    /** A frame for the guest, on the vif's reader thread. */
    void deliver(MemorySegment frame, int offload) {
        if (stopped) return;
        try {
            rx.deliver(frame, offload);
        } catch (RingOverflowException e) {
            stopped = true;
            onFatal.fatal(this, NetbackRx.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The end of a batch of frames for the guest: the responses are pushed. On the vif's reader thread. */
    void flushRx() {
        if (!stopped) rx.flush();
    }

    private void notifyFrontend(int port) {
        try {
            dev.notify(port);
        } catch (HypercallException e) {
            dev.xenbus().printk("netback " + dev.nodename() + ": notify on port " + port + ": " + e.getMessage());
        }
    }

    /** Stops the tx thread (waits for it) and the rx side; the staging pages are freed. */
    void stop() {
        stopped = true;
        rx.stop();
        LockSupport.unpark(txThread);
        if (txThread.isAlive() && txThread != Thread.currentThread()) {
            try {
                txThread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        txLock.lock(); // a serve on the event's thread finishes first
        txLock.unlock();
    }

    /** After {@link #stop} and once the reader no longer delivers here. */
    void release() {
        tx.close();
        rx.close();
        txStaging.close();
        rxStaging.close();
    }
}
