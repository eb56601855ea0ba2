package org.jxen.ring;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The frontend's end of a shared ring (struct NAME_front_ring): produces requests, consumes responses. Not
 * thread-safe: one frontend queue drives it. The private indices are {@code req_prod_pvt} (requests written
 * but not yet published) and {@code rsp_cons} (responses consumed).
 *
 * <p>Barriers. Xen's wmb/rmb/mb map onto the Java memory model as follows. The entry writes before a
 * producer index update are ordered by a release store of the index (wmb + store); the consumer's acquire
 * load of the index orders its later entry reads (load + rmb). Xen's mb between publishing an index and
 * reading the peer's event index (and, in the final check, between writing our event index and re-reading
 * the peer's producer index) is a store-load barrier that release/acquire do not give: that is
 * {@link VarHandle#fullFence()}. Both sides fence between their store and their load, which is the Dekker
 * pattern that guarantees at least one of them sees the other's store, hence no lost wake-up.
 *
 * <p>There is no flow control in ring.h beyond this: the frontend never has more than {@link #size()}
 * requests outstanding ({@link #freeRequests()}), and the backend writes each response into a slot whose
 * request it has consumed.
 */
public final class FrontRing {
    private final SharedRingLayout layout;
    private final SlotWindow slots;
    private final int size;
    private int reqProdPvt;
    private int rspCons;
    /** Responses known to be published but not yet consumed, so copyNextResponse needs no load per entry. */
    private int seenResponses;
    private RingOverflowException halted;

    /** FRONT_RING_INIT: private indices 0; the shared ring is not touched (see {@link #init()}). */
    public FrontRing(SharedRingLayout layout) {
        this.layout = layout;
        this.slots = new SlotWindow(layout);
        this.size = layout.size();
    }

    /** SHARED_RING_INIT followed by FRONT_RING_INIT: what a frontend does to a freshly granted ring. */
    public FrontRing init() {
        live();
        layout.init();
        return attach(0);
    }

    /**
     * FRONT_RING_ATTACH: picks up an existing ring at index {@code index} (both private indices), e.g. after
     * a reconnection where the rings were quiesced with req_prod == rsp_prod == index.
     */
    public FrontRing attach(int index) {
        live();
        reqProdPvt = index;
        rspCons = index;
        seenResponses = 0;
        slots.discard();
        return this;
    }

    public SharedRingLayout layout() {
        return layout;
    }

    /** RING_SIZE. */
    public int size() {
        return size;
    }

    public int reqProdPvt() {
        return reqProdPvt;
    }

    public int rspCons() {
        return rspCons;
    }

    /** RING_FREE_REQUESTS: slots neither holding an outstanding request nor an unconsumed response. */
    public int freeRequests() {
        return size - (reqProdPvt - rspCons);
    }

    /** RING_FULL. */
    public boolean isFull() {
        return freeRequests() == 0;
    }

    /**
     * RING_GET_REQUEST(req_prod_pvt) then req_prod_pvt++: the slot to write the next request into (at Xen's
     * byte offsets). Invisible to the backend until {@link #pushRequestsAndCheckNotify()}.
     */
    public MemorySegment nextRequest() {
        live();
        if (isFull()) throw new IllegalStateException("ring full: " + size + " requests outstanding");
        return slots.slot(reqProdPvt++);
    }

    /** RING_GET_REQUEST: the slot of request {@code idx}; only for slots this side owns. */
    public MemorySegment requestSlot(int idx) {
        live();
        return slots.slot(idx);
    }

    /**
     * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publishes req_prod_pvt and says whether the backend must be sent
     * an event: iff its req_event lies in (old req_prod, new req_prod].
     */
    public boolean pushRequestsAndCheckNotify() {
        live();
        int old = layout.reqProd();
        int now = reqProdPvt;
        slots.flush();
        layout.setReqProd(now); // wmb; req_prod = new: the backend sees the requests before the index
        VarHandle.fullFence(); // mb: the backend sees the new index before we read req_event
        return RingIndex.needsNotify(old, now, layout.reqEvent());
    }

    /**
     * RING_HAS_UNCONSUMED_RESPONSES, after the RING_RESPONSE_PROD_OVERFLOW check: a backend claiming more
     * than a ring's worth of responses past rsp_cons is broken or hostile, and the ring halts.
     */
    public int unconsumedResponses() {
        live();
        int rp = layout.rspProd(); // acquire: entry reads below cannot move above this load (rmb)
        int pending = rp - rspCons;
        if (RingIndex.lessThan(size, pending)) {
            halted = new RingOverflowException("response", rp, rspCons, size);
            throw halted;
        }
        seenResponses = pending;
        return pending;
    }

    public boolean hasUnconsumedResponses() {
        return unconsumedResponses() != 0;
    }

    /**
     * Copies the next response (RING_COPY_RESPONSE; {@code dst.byteSize()} bytes, at most an entry) and
     * advances rsp_cons. Returns false when none is pending. The copy is private, so a backend rewriting the
     * slot afterwards cannot change what the caller validates.
     */
    public boolean copyNextResponse(MemorySegment dst) {
        if (!responsePending()) return false;
        layout.copyOut(rspCons, dst);
        rspCons++;
        seenResponses--;
        return true;
    }

    /**
     * RING_GET_RESPONSE(rsp_cons) then rsp_cons++: a direct view of the next response, or null when none is
     * pending. Fields read from it more than once may change under a hostile backend; prefer
     * {@link #copyNextResponse}.
     */
    public MemorySegment nextResponse() {
        if (!responsePending()) return null;
        seenResponses--;
        return slots.slot(rspCons++);
    }

    /** RING_GET_RESPONSE: the slot of response {@code idx}; only for published, unconsumed-or-owned slots. */
    public MemorySegment responseSlot(int idx) {
        live();
        return slots.slot(idx);
    }

    /**
     * RING_FINAL_CHECK_FOR_RESPONSES: true if responses are pending; otherwise asks the backend for an event on
     * the next one (rsp_event = rsp_cons + 1), fences, and checks again, so a response pushed concurrently is
     * either seen here or notified. Returning false means the caller may sleep until the event.
     */
    public boolean finalCheckForResponses() {
        if (unconsumedResponses() != 0) return true;
        layout.setRspEvent(rspCons + 1);
        VarHandle.fullFence(); // mb: the backend sees rsp_event before we re-read rsp_prod
        return unconsumedResponses() != 0;
    }

    /**
     * A frontend's whole pass over the responses, the loop around RING_FINAL_CHECK_FOR_RESPONSES: each pending
     * response is copied into {@code scratch} (a private copy, see {@link #copyNextResponse}) and handed to
     * {@code each}, until the final check finds none and has asked for an event on the next.
     *
     * @throws RingOverflowException if the backend published a bogus rsp_prod; the ring halts
     */
    public void takeAllResponses(MemorySegment scratch, java.util.function.Consumer<MemorySegment> each) {
        do {
            while (copyNextResponse(scratch)) each.accept(scratch);
        } while (finalCheckForResponses());
    }

    private boolean responsePending() {
        live();
        return seenResponses != 0 || unconsumedResponses() != 0;
    }

    private void live() {
        if (halted != null) throw halted;
    }
}
