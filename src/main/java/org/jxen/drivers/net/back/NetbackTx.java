package org.jxen.drivers.net.back;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jxen.drivers.net.Checksums;
import org.jxen.drivers.net.NetLink;
import org.jxen.drivers.net.Netif;
import org.jxen.drivers.net.NetifExtraInfo;
import org.jxen.drivers.net.NetifTxRequest;
import org.jxen.drivers.net.NetifTxResponse;
import org.jxen.drivers.net.Offload;
import org.jxen.hypervisor.CopyBatch;
import org.jxen.hypervisor.GrantStatus;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.ring.BackRing;
import org.jxen.ring.RingOverflowException;

/**
 * One queue's guest-transmit side, as Linux netback's xenvif_tx_build_gops, xenvif_count_requests,
 * xenvif_get_extras and xenvif_tx_err: each packet's requests are copied out of the ring once and checked; a
 * well-formed packet is grant-copied into dom0's staging pages, answered (OKAY per slot, NULL per extra-info
 * slot) and handed to the vif; a malformed one is answered or ends the queue as Linux does (see
 * {@link Fatal}). Netback copies the first 128 bytes and maps the rest; here every byte is copied (see
 * docs/net.md). Runs on the queue's tx thread only.
 */
final class NetbackTx {
    /** XEN_NETBK_LEGACY_SLOTS_MAX: a packet of this many slots or more is dropped. */
    static final int LEGACY_SLOTS_MAX = Netif.NR_SLOTS_MIN;
    /** fatal_skb_slots' default: a packet of this many slots or more disables the vif. */
    static final int FATAL_SKB_SLOTS = 20;

    /** xenvif_fatal_tx_err: the frontend is broken or hostile; the vif is disabled. */
    static final class Fatal extends Exception {
        Fatal(String message) {
            super(message);
        }
    }

    private final BackRing ring;
    private final Hypercalls hc;
    private final Staging staging;
    private final NetLink link;
    private final CopyBatch batch = new CopyBatch(Staging.PAGES * 2 + FATAL_SKB_SLOTS * 2);
    private final Arena arena = Arena.ofShared();
    private final MemorySegment first = arena.allocate(Netif.TX_ENTRY_SIZE);
    private final MemorySegment scratch = arena.allocate(Netif.TX_ENTRY_SIZE);
    private final MemorySegment[] pieces = new MemorySegment[Staging.PAGES];
    private final NetifTxRequest req = new NetifTxRequest();
    private final NetifExtraInfo extra = new NetifExtraInfo();
    private final NetifTxResponse rsp = new NetifTxResponse();
    // The fragments of the packet being built: private copies, as txfrags in Linux.
    private final int[] fragRef = new int[FATAL_SKB_SLOTS];
    private final int[] fragOff = new int[FATAL_SKB_SLOTS];
    private final int[] fragSize = new int[FATAL_SKB_SLOTS];
    private final int[] fragId = new int[FATAL_SKB_SLOTS];
    private long packets;
    private long dropped;
    private TxCredit credit;
    private long creditRetry;
    private boolean drained;

    NetbackTx(BackRing ring, Hypercalls hc, Staging staging, NetLink link) {
        this.ring = ring;
        this.hc = hc;
        this.staging = staging;
        this.link = link;
    }

    long packets() {
        return packets;
    }

    /** The queue's credit scheduler (the backend's rate), or null: unlimited. */
    void credit(TxCredit c) {
        credit = c;
    }

    /** After {@link #process} returned because the credit ran out: when to try again (nanoTime), else 0. */
    long creditRetry() {
        return creditRetry;
    }

    long dropped() {
        return dropped;
    }

    /** Whether the last {@link #process(int)} emptied the ring and re-armed req_event. */
    boolean drained() {
        return drained;
    }

    /**
     * Serves every packet on the ring, then re-arms req_event (RING_FINAL_CHECK_FOR_REQUESTS). Returns whether the
     * frontend must be notified of responses.
     */
    boolean process() throws Fatal {
        return process(Integer.MAX_VALUE);
    }

    /**
     * As {@link #process()} for at most {@code budget} packets (NAPI's weight); {@link #drained} says whether the
     * ring was emptied and re-armed.
     */
    boolean process(int budget) throws Fatal {
        boolean notify = false;
        creditRetry = 0;
        int n = 0;
        drained = false;
        try {
            do {
                int work;
                while ((work = ring.unconsumedRequests()) > 0) {
                    int size = 0;
                    if (credit != null && credit.limited()) { // xenvif_tx_build_gops: a packet beyond the credit waits for the next window
                        ring.copyRequest(ring.reqCons(), scratch);
                        size = req.wrap(scratch).size();
                        long retry = credit.exceeded(size, System.nanoTime());
                        if (retry != 0) {
                            creditRetry = retry;
                            return notify;
                        }
                    }
                    onePacket(work);
                    if (size != 0) credit.consume(size);
                    notify |= ring.pushResponsesAndCheckNotify();
                    if (++n >= budget) return notify;
                }
            } while (ring.finalCheckForRequests());
            drained = true;
        } catch (RingOverflowException e) {
            throw new Fatal("Impossible number of requests. req_prod " + e.getMessage());
        }
        return notify;
    }

    private void onePacket(int work) throws Fatal {
        ring.copyNextRequest(first);
        work--;
        req.wrap(first);
        int firstFlags = req.flags();
        int firstId = req.id();
        int firstRef = req.gref();
        int firstOff = req.offset();
        int total = req.size();
        int extras = 0;
        int gsoType = Netif.GSO_TYPE_NONE;
        int gsoSize = 0;
        if ((firstFlags & Netif.TXF_EXTRA_INFO) != 0) {
            int flags;
            do {
                if (work == 0) throw new Fatal("Missing extra info");
                ring.copyNextRequest(scratch);
                work--;
                extras++;
                extra.wrap(scratch);
                int type = extra.type();
                if (type == Netif.EXTRA_TYPE_NONE || type >= Netif.EXTRA_TYPE_MAX) {
                    throw new Fatal("Invalid extra type: " + type);
                }
                if (type == Netif.EXTRA_TYPE_GSO) {
                    checkGso(extra.gsoSize(), extra.gsoType());
                    gsoType = extra.gsoType();
                    gsoSize = extra.gsoSize();
                }
                flags = extra.flags();
            } while ((flags & Netif.EXTRA_FLAG_MORE) != 0);
        }
        // xenvif_count_requests: peek at the fragments, private copies, without consuming them yet.
        int cons = ring.reqCons();
        int slots = 0;
        String drop = null;
        int remaining = total;
        if ((firstFlags & Netif.TXF_MORE_DATA) != 0) {
            boolean more;
            do {
                if (slots >= work) throw new Fatal("Asked for " + work + " slots but exceeds this limit");
                if (slots >= FATAL_SKB_SLOTS) {
                    throw new Fatal("Malicious frontend using " + slots + " slots, threshold " + FATAL_SKB_SLOTS);
                }
                if (slots >= LEGACY_SLOTS_MAX && drop == null) {
                    drop = "Too many slots (" + slots + ") exceeding limit (" + LEGACY_SLOTS_MAX + "), dropping packet";
                }
                ring.copyRequest(cons + slots, scratch);
                req.wrap(scratch);
                int size = req.size();
                int off = req.offset();
                if (drop == null && size > remaining) drop = "Packet is bigger than frame";
                remaining = (remaining - size) & 0xFFFF; // first->size -= txp->size, a u16
                if (off + size > Netif.PAGE_SIZE) {
                    throw new Fatal("Cross page boundary, txp->offset: " + off + ", size: " + size);
                }
                more = (req.flags() & Netif.TXF_MORE_DATA) != 0;
                if (drop == null) {
                    fragRef[slots] = req.gref();
                    fragOff[slots] = off;
                    fragSize[slots] = size;
                    fragId[slots] = req.id();
                }
                slots++;
            } while (more);
        }
        if (drop != null || remaining < Netif.ETH_HLEN) {
            txErr(firstId, extras, slots);
            return;
        }
        if (firstOff + remaining > Netif.PAGE_SIZE) {
            throw new Fatal("Cross page boundary, txreq.offset: " + firstOff + ", size: " + remaining);
        }
        // The fragments are ours now: consume them.
        for (int i = 0; i < slots; i++) ring.copyNextRequest(scratch);
        if (!staging.ensure(total)) { // dom0 out of memory: as a failed allocation in netback, the packet is lost
            respond(firstId, extras, Netif.RSP_ERROR);
            for (int i = 0; i < slots; i++) respond(fragId[i], 0, Netif.RSP_ERROR);
            dropped++;
            return;
        }
        batch.clear();
        staging.fromGuest(batch, firstRef, firstOff, remaining, 0);
        int at = remaining;
        for (int i = 0; i < slots; i++) {
            staging.fromGuest(batch, fragRef[i], fragOff[i], fragSize[i], at);
            at += fragSize[i];
        }
        boolean ok = copy();
        short status = ok ? Netif.RSP_OKAY : Netif.RSP_ERROR;
        respond(firstId, extras, status);
        for (int i = 0; i < slots; i++) respond(fragId[i], 0, status);
        if (!ok) {
            dropped++;
            return;
        }
        // The frame goes to the interface straight from the staging pages (one writev).
        int n = staging.pieces(total, pieces);
        MemorySegment head = pieces[0];
        int offload = Offload.fromTx(firstFlags, gsoType, gsoSize);
        // checksum_setup: a GSO packet must be CHECKSUM_PARTIAL; a frontend that did not say csum_blank gets the
        // pseudo-header sum written for it (rx_gso_checksum_fixup).
        if (Offload.gso(offload) && !Offload.partial(offload)) {
            if (!Checksums.setPseudoHeader(head, total)) {
                dropped++;
                return;
            }
            offload |= Offload.PARTIAL;
        } else if (Offload.partial(offload) && Checksums.locate(head) < 0) {
            dropped++; // "Can't setup checksum in net_tx_action": not TCP or UDP over IP
            return;
        }
        try {
            link.transmit(pieces, n, offload);
            packets++;
        } catch (IOException e) {
            dropped++; // "Can't setup checksum in net_tx_action", or the interface refused it
        }
    }

    /** xenvif_set_skb_gso's checks. */
    private static void checkGso(int size, int type) throws Fatal {
        if (size == 0) throw new Fatal("GSO size must not be zero.");
        if (type != Netif.GSO_TYPE_TCPV4 && type != Netif.GSO_TYPE_TCPV6) throw new Fatal("Bad GSO type " + type + ".");
    }

    private boolean copy() {
        try {
            hc.grantCopy(batch);
        } catch (HypercallException e) {
            return false;
        }
        for (int i = 0; i < batch.count(); i++) if (batch.status(i) != GrantStatus.OKAY.code) return false;
        return true;
    }

    /**
     * xenvif_tx_err: ERROR for the first slot (NULL for its extra-info slots) and for each of the packet's
     * {@code slots} fragments, which are consumed here.
     */
    private void txErr(int firstId, int extras, int slots) {
        dropped++;
        respond(firstId, extras, Netif.RSP_ERROR);
        for (int i = 0; i < slots; i++) {
            ring.copyNextRequest(scratch);
            respond(req.wrap(scratch).id(), 0, Netif.RSP_ERROR);
        }
    }

    /** make_tx_response: the response with the request's id, then NULL in each extra-info slot (status only). */
    private void respond(int id, int extras, short status) {
        rsp.wrap(ring.nextResponse()).set(id, status);
        for (int i = 0; i < extras; i++) {
            MemorySegment slot = ring.nextResponse();
            slot.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, NetifTxResponse.STATUS_OFFSET, Netif.RSP_NULL);
        }
    }

    void close() {
        arena.close();
    }
}
