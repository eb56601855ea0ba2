package org.jxen.drivers.net.back;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jxen.drivers.net.Netif;
import org.jxen.drivers.net.NetifRxRequest;
import org.jxen.drivers.net.NetifRxResponse;
import org.jxen.hypervisor.CopyBatch;
import org.jxen.hypervisor.GrantStatus;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.ring.BackRing;
import org.jxen.ring.RingOverflowException;

/**
 * One queue's guest-receive side, as Linux netback's rx.c: a frame for the guest waits until the frontend has
 * posted enough buffers (one per 4 KiB), setting {@code req_event = req_prod + 1} so that the next posted buffer
 * wakes it (xenvif_rx_ring_slots_available); then it is grant-copied into those buffers, one response per
 * request written into that request's own slot (status: the bytes in the slot, or ERROR if its copy failed;
 * NETRXF_more_data on all but the last), pushed, and the frontend notified if it asked. A frame that finds no
 * room within the drain timeout is dropped (rx_drain_timeout_msecs). Called on the vif's reader thread.
 */
final class NetbackRx {
    /** rx_drain_timeout_msecs. */
    static final long DRAIN_TIMEOUT_MS = 10_000;
    /** Without feature-rx-notify the frontend never kicks us for buffers: look again this often. */
    private static final long POLL_NS = TimeUnit.MILLISECONDS.toNanos(10);

    private final BackRing ring;
    private final Hypercalls hc;
    private final Staging staging;
    private final boolean rxNotify;
    private final CopyBatch batch = new CopyBatch(Staging.PAGES * 2);
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(Netif.RX_ENTRY_SIZE);
    private final NetifRxRequest req = new NetifRxRequest();
    private final NetifRxResponse rsp = new NetifRxResponse();
    private final int[] ids = new int[Staging.PAGES];
    private final int[] lens = new int[Staging.PAGES];
    private final int[] opsOf = new int[Staging.PAGES];
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition posted = lock.newCondition();
    private volatile boolean stopped;
    /** An event came since the last wait: set under the lock, so a kick between look and wait is not lost. */
    private boolean kicked;
    private long packets;
    private long dropped;

    NetbackRx(BackRing ring, Hypercalls hc, Staging staging, boolean rxNotify) {
        this.ring = ring;
        this.hc = hc;
        this.staging = staging;
        this.rxNotify = rxNotify;
    }

    long packets() {
        return packets;
    }

    long dropped() {
        return dropped;
    }

    /** The rx event: the frontend posted buffers. */
    void kick() {
        lock.lock();
        try {
            kicked = true;
            posted.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void stop() {
        stopped = true;
        kick();
    }

    /**
     * Copies {@code frame} into the guest's buffers. Returns whether the frontend must be notified; throws
     * RingOverflowException when the frontend's req_prod is bogus (the caller disables the vif).
     */
    boolean deliver(MemorySegment frame) throws InterruptedException {
        int len = (int) Math.min(frame.byteSize(), staging.capacity());
        int needed = Math.max(1, (len + Netif.PAGE_SIZE - 1) / Netif.PAGE_SIZE);
        if (!staging.ensure(len) || !await(needed)) {
            dropped++;
            return false;
        }
        staging.fill(frame.asSlice(0, len));
        batch.clear();
        for (int i = 0, at = 0; i < needed; i++) {
            ring.copyNextRequest(scratch);
            req.wrap(scratch);
            ids[i] = req.id();
            lens[i] = Math.min(Netif.PAGE_SIZE, len - at);
            opsOf[i] = staging.toGuest(batch, at, req.gref(), 0, lens[i]);
            at += lens[i];
        }
        boolean hypercallOk = true;
        try {
            hc.grantCopy(batch);
        } catch (HypercallException e) {
            hypercallOk = false;
        }
        for (int i = 0, op = 0; i < needed; i++) {
            boolean ok = hypercallOk;
            for (int k = 0; k < opsOf[i]; k++, op++) ok &= batch.status(op) == GrantStatus.OKAY.code;
            int flags = i < needed - 1 ? Netif.RXF_MORE_DATA : 0;
            rsp.wrap(ring.nextResponse()).set(ids[i], 0, flags, ok ? (short) lens[i] : Netif.RSP_ERROR);
        }
        packets++;
        return ring.pushResponsesAndCheckNotify();
    }

    /** Waits until {@code needed} requests are posted; false on stop or after the drain timeout. */
    private boolean await(int needed) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_TIMEOUT_MS);
        while (!stopped) {
            if (ring.unconsumedRequests() >= needed) return true;
            // xenvif_rx_ring_slots_available: ask for an event on the very next request, then look again.
            ring.layout().setReqEvent(ring.layout().reqProd() + 1);
            VarHandle.fullFence();
            if (ring.unconsumedRequests() >= needed) return true;
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            lock.lock();
            try {
                if (stopped) return false;
                if (!kicked) posted.awaitNanos(rxNotify ? Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)) : Math.min(left, POLL_NS));
                kicked = false;
            } finally {
                lock.unlock();
            }
        }
        return false;
    }

    void close() {
        arena.close();
    }

    /** For {@link RingOverflowException}'s callers. */
    static String describe(RingOverflowException e) {
        return "rx ring: " + e.getMessage();
    }
}
