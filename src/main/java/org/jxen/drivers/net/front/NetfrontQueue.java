package org.jxen.drivers.net.front;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.jxen.drivers.net.Checksums;
import org.jxen.drivers.net.NetLink;
import org.jxen.drivers.net.Netif;
import org.jxen.drivers.net.NetifExtraInfo;
import org.jxen.drivers.net.NetifRxRequest;
import org.jxen.drivers.net.NetifRxResponse;
import org.jxen.drivers.net.NetifTxRequest;
import org.jxen.drivers.net.NetifTxResponse;
import org.jxen.drivers.net.Offload;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.FrontRing;
import org.jxen.ring.RingOverflowException;
import org.jxen.xenbus.FrontRings;
import org.jxen.xenbus.XenbusDevice;

/**
 * One netfront queue (struct netfront_queue): a tx and an rx ring, 256 tx buffer pages granted read-only and 256
 * rx buffer pages granted writable to the backend. Transmit (xennet_start_xmit) copies a frame into free tx
 * pages, one slot per 4 KiB, the first slot carrying the whole length, and waits for room when the ring is
 * full; responses free the pages (xennet_tx_buf_gc). Receive (xennet_poll) runs on a thread of its own that the
 * rx event wakes: each packet's responses are read by slot (the buffer of slot i is page i mod 256, as Linux
 * indexes rx buffers), copied out and given to the guest's interface, and the buffers are posted again
 * (xennet_alloc_rx_buffers). A response that names a buffer not in flight, or a bogus ring index, breaks the
 * device ("Disabled for further use").
 */
final class NetfrontQueue {
    private final int index;
    private final XenbusDevice dev;
    private final NetLink link;
    private final FrontRing tx;
    private final FrontRing rx;
    private final int txPort;
    private final int rxPort;
    /** The backend takes IPv6 frames with csum_blank (feature-ipv6-csum-offload); else they are completed here. */
    private final boolean ipv6Csum;
    private final MemorySegment[] txPages = new MemorySegment[Netif.TX_RING_SIZE];
    private final MemorySegment[] rxPages = new MemorySegment[Netif.RX_RING_SIZE];
    private int[] txRefs;
    private int[] rxRefs;
    private final int[] freeIds = new int[Netif.TX_RING_SIZE];
    private final boolean[] inFlight = new boolean[Netif.TX_RING_SIZE];
    private int nfree;
    private final ReentrantLock txLock = new ReentrantLock();
    private final Condition txRoom = txLock.newCondition();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment txScratch = arena.allocate(Netif.TX_ENTRY_SIZE);
    private final MemorySegment rxScratch = arena.allocate(Netif.RX_ENTRY_SIZE);
    /** The rx buffers holding the packet being received (rx thread only). */
    private final MemorySegment[] pieces = new MemorySegment[Netif.NR_SLOTS_MIN + 2];
    /** The largest packet taken from the rx ring: 17 full pages, as Linux's 64 KiB plus headers. */
    private static final int MAX_RX_FRAME = 17 * Netif.PAGE_SIZE;
    private final NetifTxRequest txReq = new NetifTxRequest();
    private final NetifTxResponse txRsp = new NetifTxResponse();
    private final NetifRxRequest rxReq = new NetifRxRequest();
    private final NetifRxResponse rxRsp = new NetifRxResponse();
    private final NetifExtraInfo txExtra = new NetifExtraInfo();
    private final NetifExtraInfo extra = new NetifExtraInfo();
    private final Thread rxThread;
    private volatile boolean rxKicked = true;
    /** Held by whichever thread polls the rx ring: the rx thread, or the event's thread within its budget. */
    private final ReentrantLock rxLock = new ReentrantLock();
    /** NAPI's weight: the packets the event's thread takes before it hands the rest to the rx thread. */
    static final int RX_BUDGET = 64;
    private volatile boolean stopped;
    private volatile String broken;
    /** At most this many packets between two pushes of the tx requests (netback's batch, RX_BATCH_SIZE). */
    static final int BATCH = 64;
    /** Requests written since the last push (under txLock). */
    private int unpushedTx;
    // The GSO extra of the packet being received (rx thread only).
    private int gsoType;
    private int gsoSize;
    long txPackets;
    long txErrors;
    long rxPackets;
    long rxErrors;

    NetfrontQueue(XenbusDevice dev, FrontRings.Queue q, NetLink link, boolean split, boolean ipv6Csum)
            throws HypercallException {
        this.index = q.index();
        this.ipv6Csum = ipv6Csum;
        this.dev = dev;
        this.link = link;
        this.tx = q.frontRing("tx", Netif.TX_ENTRY_SIZE);
        this.rx = q.frontRing("rx", Netif.RX_ENTRY_SIZE);
        this.txPort = q.port(split ? "tx" : "");
        this.rxPort = q.port(split ? "rx" : "");
        try {
            for (int i = 0; i < txPages.length; i++) txPages[i] = dev.xenbus().allocPage();
            for (int i = 0; i < rxPages.length; i++) rxPages[i] = dev.xenbus().allocPage();
            txRefs = dev.grantPages(true, txPages);
            rxRefs = dev.grantPages(false, rxPages);
        } catch (HypercallException | RuntimeException e) {
            release();
            throw e;
        }
        for (int i = 0; i < freeIds.length; i++) freeIds[nfree++] = freeIds.length - 1 - i;
        rxThread = Thread.ofPlatform().daemon().name(link.name() + "-q" + index + "-rx").unstarted(this::rxLoop);
    }

    /** Posts every rx buffer and starts receiving. */
    void start() {
        refill();
        rxThread.start();
    }

    String broken() {
        return broken;
    }

    /** An event on {@code channel} ({@code ""}: both directions). */
    void event(String channel) {
        boolean shared = txPort == rxPort;
        if (shared || channel.equals("tx")) {
            txLock.lock();
            try {
                txRoom.signalAll();
            } finally {
                txLock.unlock();
            }
        }
        if (shared || channel.equals("rx")) {
            rxKicked = true;
            // NAPI: the event's own thread takes up to a budget of packets (no hand-off, so a lone packet such
            // as a ping reaches the interface one thread switch sooner); a longer burst goes on on the rx thread.
            if (rxThread.isAlive() && rxLock.tryLock()) {
                boolean done;
                try {
                    done = stopped || broken != null || pollRx(RX_BUDGET);
                } finally {
                    rxLock.unlock();
                }
                if (done) return;
                rxKicked = true;
            }
            LockSupport.unpark(rxThread);
        }
    }

    // ---- transmit ----

    /**
     * xennet_start_xmit for one frame; blocks while the ring has no room (the interface's queue is stopped). The
     * first slot carries the checksum flags and, for a GSO frame, NETTXF_extra_info with the GSO extra in the next
     * slot; the data slots follow.
     */
    void transmit(MemorySegment f, int offload) {
        int len = (int) f.byteSize();
        if (len > Netif.MAX_TX_SIZE || len == 0) { // xennet_start_xmit drops what the size field cannot say
            txErrors++;
            return;
        }
        if (Offload.partial(offload) && !ipv6Csum && Checksums.ipv6(f)) { // skb_checksum_help
            if (!Checksums.complete(f)) {
                txErrors++;
                return;
            }
            offload = Offload.NONE;
        }
        boolean gso = Offload.gso(offload);
        int slots = (len + Netif.PAGE_SIZE - 1) / Netif.PAGE_SIZE;
        int csumFlags = Offload.txFlags(offload);
        txLock.lock();
        try {
            while (true) {
                if (stopped || broken != null) return;
                collectTxResponses();
                if (broken != null) return;
                if (tx.freeRequests() >= slots + (gso ? 1 : 0) && nfree >= slots) break;
                if (unpushedTx > 0) pushTx(); // the backend frees room only for requests it can see
                if (tx.finalCheckForResponses()) continue;
                txRoom.await(100, TimeUnit.MILLISECONDS);
            }
            for (int i = 0, at = 0; i < slots; i++) {
                int id = freeIds[--nfree];
                inFlight[id] = true;
                int chunk = Math.min(Netif.PAGE_SIZE, len - at);
                MemorySegment.copy(f, at, txPages[id], 0, chunk);
                int flags = i < slots - 1 ? Netif.TXF_MORE_DATA : 0;
                if (i == 0) flags |= csumFlags | (gso ? Netif.TXF_EXTRA_INFO : 0);
                txReq.wrap(tx.nextRequest()).set(txRefs[id], 0, flags, id, i == 0 ? len : chunk);
                if (i == 0 && gso) {
                    txExtra.wrap(tx.nextRequest()).setGso(0, Offload.gsoSize(offload), Offload.gsoType(offload), 0);
                }
                at += chunk;
            }
            txPackets++;
            if (++unpushedTx >= BATCH) pushTx();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RingOverflowException e) {
            broke("tx ring: " + e.getMessage());
        } finally {
            txLock.unlock();
        }
    }

    /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY for the requests written since the last push. Under txLock. */
    private void pushTx() {
        unpushedTx = 0;
        if (tx.pushRequestsAndCheckNotify()) notifyBackend(txPort);
    }

    /**
     * The guest's stack has no more frames for now (Linux's xmit_more ran out): what {@link #transmit} wrote is
     * pushed, and the backend notified if it asked.
     */
    void flushTx() {
        txLock.lock();
        try {
            if (unpushedTx > 0 && !stopped && broken == null) pushTx();
        } catch (RingOverflowException e) {
            broke("tx ring: " + e.getMessage());
        } finally {
            txLock.unlock();
        }
    }

    /** xennet_tx_buf_gc: frees the pages of answered requests. Under txLock. */
    private void collectTxResponses() {
        while (tx.copyNextResponse(txScratch)) {
            txRsp.wrap(txScratch);
            if (txRsp.status() == Netif.RSP_NULL) continue; // an extra-info slot's: no id, no page
            int id = txRsp.id();
            if (id >= inFlight.length || !inFlight[id]) {
                broke("tx response id " + id + " is not in flight");
                return;
            }
            if (txRsp.status() != Netif.RSP_OKAY) txErrors++;
            inFlight[id] = false;
            freeIds[nfree++] = id;
        }
    }

    // ---- receive ----

    private void rxLoop() {
        while (!stopped && broken == null) {
            if (!rxKicked) {
                LockSupport.park(this);
                continue;
            }
            rxLock.lock();
            try {
                pollRx(Integer.MAX_VALUE);
            } finally {
                rxLock.unlock();
            }
        }
    }

    /**
     * xennet_poll: up to {@code budget} packets, the buffers posted again, and RING_FINAL_CHECK_FOR_RESPONSES;
     * true when the ring is drained and re-armed, false when the budget ran out first. Under rxLock.
     */
    private boolean pollRx(int budget) {
        rxKicked = false;
        int n = 0;
        try {
            do {
                while (rx.unconsumedResponses() > 0 && !stopped) {
                    receiveOne();
                    if (++n >= budget) {
                        refill();
                        return false;
                    }
                }
                refill();
            } while (!stopped && rx.finalCheckForResponses());
        } catch (RingOverflowException e) {
            broke("rx ring: " + e.getMessage());
        } catch (RuntimeException e) {
            broke("rx: " + e);
        }
        return true;
    }

    /** xennet_get_responses for one packet: its slots copied out, then the frame handed to the interface. */
    private void receiveOne() {
        int len = 0;
        boolean bad = false;
        boolean more;
        boolean first = true;
        int csumFlags = 0;
        int npieces = 0;
        gsoType = Netif.GSO_TYPE_NONE;
        gsoSize = 0;
        do {
            if (!rx.copyNextResponse(rxScratch)) { // the backend published half a packet
                bad = true;
                break;
            }
            int id = (rx.rspCons() - 1) & (Netif.RX_RING_SIZE - 1);
            rxRsp.wrap(rxScratch);
            int status = rxRsp.status();
            int off = rxRsp.offset();
            int flags = rxRsp.flags();
            if (status < 0 || off + status > Netif.PAGE_SIZE || len + status > MAX_RX_FRAME || npieces == pieces.length) {
                bad = true;
            } else if (!bad && status > 0) {
                pieces[npieces++] = rxPages[id].asSlice(off, status);
                len += status;
            }
            if (first) {
                csumFlags = flags;
                if ((flags & Netif.RXF_EXTRA_INFO) != 0) readExtras();
            }
            first = false;
            more = (flags & Netif.RXF_MORE_DATA) != 0;
        } while (more);
        if (bad || len == 0) {
            rxErrors++;
            return;
        }
        // The frame goes to the interface straight from the rx buffers (one writev); they are posted again after.
        MemorySegment head = pieces[0];
        int offload = Offload.fromRx(csumFlags, gsoType, gsoSize);
        // checksum_setup: a GSO frame must be CHECKSUM_PARTIAL; a backend that forgot csum_blank gets it fixed up.
        if (Offload.gso(offload) && !Offload.partial(offload)) {
            if (!Checksums.setPseudoHeader(head, len)) {
                rxErrors++;
                return;
            }
            offload |= Offload.PARTIAL;
        } else if (Offload.partial(offload) && Checksums.locate(head) < 0) {
            rxErrors++; // checksum_setup failed: xennet_poll drops it
            return;
        }
        rxPackets++;
        try {
            link.transmit(pieces, npieces, offload);
        } catch (IOException e) {
            rxErrors++;
        }
    }

    /**
     * xennet_get_extras: the extra-info slots after a packet's first response; a GSO one gives the frame its MSS
     * and type (xennet_set_skb_gso), others are passed over.
     */
    private void readExtras() {
        int flags;
        do {
            if (!rx.copyNextResponse(rxScratch)) return;
            extra.wrap(rxScratch);
            if (extra.type() == Netif.EXTRA_TYPE_GSO && extra.gsoSize() != 0
                    && (extra.gsoType() == Netif.GSO_TYPE_TCPV4 || extra.gsoType() == Netif.GSO_TYPE_TCPV6)) {
                gsoType = extra.gsoType();
                gsoSize = extra.gsoSize();
            }
            flags = extra.flags();
        } while ((flags & Netif.EXTRA_FLAG_MORE) != 0);
    }

    /** xennet_alloc_rx_buffers: every free slot gets its buffer again; the backend is notified if it asked. */
    private void refill() {
        int posted = 0;
        while (rx.freeRequests() > 0) {
            int id = rx.reqProdPvt() & (Netif.RX_RING_SIZE - 1);
            rxReq.wrap(rx.nextRequest()).set(id, rxRefs[id]);
            posted++;
        }
        if (posted > 0 && rx.pushRequestsAndCheckNotify()) notifyBackend(rxPort);
    }

    private void notifyBackend(int port) {
        try {
            dev.notify(port);
        } catch (HypercallException e) {
            dev.xenbus().printk("netfront " + dev.nodename() + ": notify on port " + port + ": " + e.getMessage());
        }
    }

    private void broke(String why) {
        if (broken != null) return;
        broken = why;
        dev.xenbus().printk("netfront " + dev.nodename() + ": " + why + "; Disabled for further use");
    }

    /** Stops receiving and transmitting (waits for the rx thread). */
    void stop() {
        stopped = true;
        event("");
        LockSupport.unpark(rxThread);
        if (rxThread.isAlive() && rxThread != Thread.currentThread()) {
            try {
                rxThread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        txLock.lock(); // a transmit in progress finishes first
        txLock.unlock();
        rxLock.lock(); // and a poll on the event's thread
        rxLock.unlock();
    }

    /** Ends the grants (deferred while the backend still uses a page) and frees the pages. After {@link #stop}. */
    void release() {
        for (int i = 0; i < txPages.length; i++) {
            if (txPages[i] == null) continue;
            if (txRefs != null) dev.endAccessAndFree(txRefs[i], txPages[i]);
            else dev.xenbus().freePage(txPages[i]);
            txPages[i] = null;
        }
        for (int i = 0; i < rxPages.length; i++) {
            if (rxPages[i] == null) continue;
            if (rxRefs != null) dev.endAccessAndFree(rxRefs[i], rxPages[i]);
            else dev.xenbus().freePage(rxPages[i]);
            rxPages[i] = null;
        }
        if (rxThread == null || !rxThread.isAlive()) arena.close();
    }
}
