package org.jxen.drivers.net.back;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jxen.drivers.net.Checksums;
import org.jxen.drivers.net.Netif;
import org.jxen.drivers.net.NetifExtraInfo;
import org.jxen.drivers.net.NetifRxRequest;
import org.jxen.drivers.net.NetifRxResponse;
import org.jxen.drivers.net.Offload;
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
    /**
     * What the frontend said it takes: kicks for posted buffers (feature-rx-notify), partial checksums (not
     * feature-no-csum-offload; IPv6 ones only with feature-ipv6-csum-offload) and GSO frames (feature-gso-tcpv4/6).
     */
    record Features(boolean rxNotify, boolean csum, boolean ipv6Csum, boolean tso4, boolean tso6) {}

    /** RX_BATCH_SIZE: at most this many packets between two pushes of the responses. */
    static final int BATCH = 64;
    /** rx_drain_timeout_msecs. */
    static final long DRAIN_TIMEOUT_MS = 10_000;
    /** Without feature-rx-notify the frontend never kicks us for buffers: look again this often. */
    private static final long POLL_NS = TimeUnit.MILLISECONDS.toNanos(10);

    private final BackRing ring;
    private final Hypercalls hc;
    private final Staging staging;
    private final boolean rxNotify;
    private final Features features;
    private final Runnable notifyFrontend;
    /** Responses written since the last push: pushed (and notified) once per batch. */
    private int unpushed;
    private final NetifExtraInfo extra = new NetifExtraInfo();
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

    NetbackRx(BackRing ring, Hypercalls hc, Staging staging, Features features, Runnable notifyFrontend) {
        this.notifyFrontend = notifyFrontend;
        this.ring = ring;
        this.hc = hc;
        this.staging = staging;
        this.features = features;
        this.rxNotify = features.rxNotify();
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
     * Copies {@code frame} into the guest's buffers and writes its responses; they are pushed (and the frontend
     * notified if it asked) by {@link #flush}, at the end of the batch or after {@link #BATCH} packets, as
     * xenvif_rx_action does. Throws RingOverflowException when the frontend's req_prod is bogus (the caller
     * disables the vif).
     */
    void deliver(MemorySegment frame, int offload) throws InterruptedException {
        int len = (int) Math.min(frame.byteSize(), staging.capacity());
        offload = fit(frame, offload);
        if (offload < 0) {
            dropped++;
            return;
        }
        boolean gso = Offload.gso(offload);
        int pages = Math.max(1, (len + Netif.PAGE_SIZE - 1) / Netif.PAGE_SIZE);
        int needed = pages + (gso ? 1 : 0); // xenvif_rx_skb: one more slot for the GSO extra
        if (!staging.ensure(len) || !await(needed)) {
            dropped++;
            return;
        }
        staging.fill(frame.asSlice(0, len));
        batch.clear();
        for (int i = 0, at = 0; i < pages; i++) {
            ring.copyNextRequest(scratch);
            req.wrap(scratch);
            ids[i] = req.id();
            lens[i] = Math.min(Netif.PAGE_SIZE, len - at);
            opsOf[i] = staging.toGuest(batch, at, req.gref(), 0, lens[i]);
            at += lens[i];
            if (i == 0 && gso) ring.copyNextRequest(scratch); // the extra's slot: its buffer stays unused
        }
        boolean hypercallOk = true;
        try {
            hc.grantCopy(batch);
        } catch (HypercallException e) {
            hypercallOk = false;
        }
        for (int i = 0, op = 0; i < pages; i++) {
            boolean ok = hypercallOk;
            for (int k = 0; k < opsOf[i]; k++, op++) ok &= batch.status(op) == GrantStatus.OKAY.code;
            int flags = i < pages - 1 ? Netif.RXF_MORE_DATA : 0;
            if (i == 0) flags |= Offload.rxFlags(offload) | (gso ? Netif.RXF_EXTRA_INFO : 0);
            rsp.wrap(ring.nextResponse()).set(ids[i], 0, flags, ok ? (short) lens[i] : Netif.RSP_ERROR);
            if (i == 0 && gso) {
                // xenvif_rx_extra_slot: the GSO extra goes in the slot after the first response.
                extra.wrap(ring.nextResponse()).setGso(0, Offload.gsoSize(offload), Offload.gsoType(offload), 0);
            }
        }
        packets++;
        if (++unpushed >= BATCH) flush();
    }

    /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY for what {@link #deliver} wrote since the last push. */
    void flush() {
        if (unpushed == 0) return;
        unpushed = 0;
        if (ring.pushResponsesAndCheckNotify()) notifyFrontend.run();
    }

    /**
     * The frame's offload as the frontend can take it: a partial checksum it cannot take is completed here
     * (skb_checksum_help, as Linux does for a device without that checksum feature); -1 for a frame that cannot
     * be made acceptable (a GSO frame for a frontend without that GSO type: the stack segments those itself,
     * since the interface does not offer TSO then).
     */
    private int fit(MemorySegment frame, int offload) {
        if (Offload.gso(offload)) {
            boolean v6 = Offload.gsoType(offload) == Netif.GSO_TYPE_TCPV6;
            if (!(v6 ? features.tso6() : features.tso4()) || !Offload.partial(offload)) return -1;
        }
        if (Offload.partial(offload) && !(features.csum() && (features.ipv6Csum() || !Checksums.ipv6(frame)))) {
            if (Offload.gso(offload) || !Checksums.complete(frame)) return -1;
            return Offload.NONE;
        }
        return offload;
    }

    /** Waits until {@code needed} requests are posted; false on stop or after the drain timeout. */
    private boolean await(int needed) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_TIMEOUT_MS);
        while (!stopped) {
            if (ring.unconsumedRequests() >= needed) return true;
            flush(); // the frontend reposts buffers only for responses it can see
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
