package org.jxen.ring;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The backend's end of a shared ring (struct NAME_back_ring): consumes requests, produces responses. Not
 * thread-safe: one backend queue drives it. The private indices are {@code rsp_prod_pvt} (responses written
 * but not yet published) and {@code req_cons} (requests consumed). Barriers as described on
 * {@link FrontRing}.
 *
 * <p>The frontend is untrusted. A request producer index more than a ring's worth ahead of rsp_prod_pvt
 * (RING_REQUEST_PROD_OVERFLOW) halts this ring with a {@link RingOverflowException}; requests should be taken
 * with {@link #copyNextRequest} so they are validated from a private copy, never re-read from shared memory
 * (RING_COPY_REQUEST: no double fetch).
 */
public final class BackRing {
    private final SharedRingLayout layout;
    private final SlotWindow slots;
    private final int size;
    private int rspProdPvt;
    private int reqCons;
    /** Requests known to be consumable, so copyNextRequest needs no shared load per entry. */
    private int seenRequests;
    private RingOverflowException halted;

    /** BACK_RING_INIT: private indices 0; the shared ring is not touched. */
    public BackRing(SharedRingLayout layout) {
        this.layout = layout;
        this.slots = new SlotWindow(layout);
        this.size = layout.size();
    }

    /** SHARED_RING_INIT followed by BACK_RING_INIT, for a backend that creates the ring itself. */
    public BackRing init() {
        live();
        layout.init();
        return attach(0);
    }

    /**
     * BACK_RING_ATTACH: picks up an existing ring at index {@code index} (both private indices), typically
     * {@code layout.rspProd()} when reconnecting to a ring whose outstanding requests were all answered.
     */
    public BackRing attach(int index) {
        live();
        rspProdPvt = index;
        reqCons = index;
        seenRequests = 0;
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

    public int rspProdPvt() {
        return rspProdPvt;
    }

    public int reqCons() {
        return reqCons;
    }

    /**
     * RING_HAS_UNCONSUMED_REQUESTS after the RING_REQUEST_PROD_OVERFLOW check: the published requests not yet
     * consumed, capped by the room left for their responses (so a bogus req_prod behind req_cons cannot make
     * the backend run past the ring).
     *
     * @throws RingOverflowException if req_prod is more than a ring ahead of rsp_prod_pvt; the ring halts
     */
    public int unconsumedRequests() {
        live();
        int rp = layout.reqProd(); // acquire: request reads below cannot move above this load (rmb)
        if (requestProdOverflow(rp)) {
            halted = new RingOverflowException("request", rp, rspProdPvt, size);
            throw halted;
        }
        int req = rp - reqCons;
        int rsp = size - (reqCons - rspProdPvt);
        seenRequests = RingIndex.min(req, rsp);
        return seenRequests;
    }

    public boolean hasUnconsumedRequests() {
        return unconsumedRequests() != 0;
    }

    /** RING_REQUEST_PROD_OVERFLOW: (prod - rsp_prod_pvt) &gt; RING_SIZE. */
    public boolean requestProdOverflow(int prod) {
        return RingIndex.lessThan(size, prod - rspProdPvt);
    }

    /** RING_REQUEST_CONS_OVERFLOW: consuming at {@code cons} would leave no slot for its response. */
    public boolean requestConsOverflow(int cons) {
        return !RingIndex.lessThan(cons - rspProdPvt, size);
    }

    /**
     * RING_COPY_REQUEST of the next request into {@code dst} ({@code dst.byteSize()} bytes, at most an entry),
     * then req_cons++. Returns false when none is pending. Validate {@code dst}, never the shared slot.
     *
     * @throws RingOverflowException if the frontend published a bogus req_prod; the ring halts
     */
    public boolean copyNextRequest(MemorySegment dst) {
        live();
        if (seenRequests == 0 && unconsumedRequests() == 0) return false;
        if (requestConsOverflow(reqCons)) return false; // implied by the cap above; kept as in blkback
        layout.copyOut(reqCons, dst);
        reqCons++;
        seenRequests--;
        return true;
    }

    /** RING_COPY_REQUEST of request {@code idx} into {@code dst}, without consuming it. */
    public void copyRequest(int idx, MemorySegment dst) {
        live();
        layout.copyOut(idx, dst);
    }

    /** RING_GET_REQUEST: a direct view of request {@code idx}. Shared memory: read each field once at most. */
    public MemorySegment requestSlot(int idx) {
        live();
        return slots.slot(idx);
    }

    /**
     * RING_GET_RESPONSE(rsp_prod_pvt) then rsp_prod_pvt++: the slot to write the next response into. Responses
     * go into the slots of consumed requests, so there must be a consumed request without a response yet.
     */
    public MemorySegment nextResponse() {
        live();
        if (rspProdPvt == reqCons) throw new IllegalStateException("no consumed request left to respond to");
        return slots.slot(rspProdPvt++);
    }

    /** RING_GET_RESPONSE: the slot of response {@code idx}; only for slots this side owns. */
    public MemorySegment responseSlot(int idx) {
        live();
        return slots.slot(idx);
    }

    /**
     * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publishes rsp_prod_pvt and says whether the frontend must be sent
     * an event: iff its rsp_event lies in (old rsp_prod, new rsp_prod].
     */
    public boolean pushResponsesAndCheckNotify() {
        live();
        int old = layout.rspProd();
        int now = rspProdPvt;
        slots.flush();
        layout.setRspProd(now); // wmb; rsp_prod = new: the frontend sees the responses before the index
        VarHandle.fullFence(); // mb: the frontend sees the new index before we read rsp_event
        return RingIndex.needsNotify(old, now, layout.rspEvent());
    }

    /**
     * RING_FINAL_CHECK_FOR_REQUESTS: true if requests are pending; otherwise asks the frontend for an event on
     * the next one (req_event = req_cons + 1), fences, and checks again. False means the caller may sleep until
     * the event channel fires.
     *
     * @throws RingOverflowException if the frontend published a bogus req_prod; the ring halts
     */
    public boolean finalCheckForRequests() {
        if (unconsumedRequests() != 0) return true;
        layout.setReqEvent(reqCons + 1);
        VarHandle.fullFence(); // mb: the frontend sees req_event before we re-read req_prod
        return unconsumedRequests() != 0;
    }

    /** Answers one request: {@code request} is a private copy, {@code response} the slot to fill. */
    @FunctionalInterface
    public interface Responder {
        void respond(MemorySegment request, MemorySegment response);
    }

    /**
     * A backend's whole pass over the ring, the loop every synchronous backend writes around
     * RING_FINAL_CHECK_FOR_REQUESTS: each pending request is copied into {@code scratch} and answered at once,
     * responses are pushed, and the final check catches requests that raced with it. Returns whether the
     * frontend must be sent an event.
     *
     * @throws RingOverflowException if the frontend published a bogus req_prod; the ring halts
     */
    public boolean answerAll(MemorySegment scratch, Responder responder) {
        boolean notify = false;
        do {
            while (copyNextRequest(scratch)) responder.respond(scratch, nextResponse());
            notify |= pushResponsesAndCheckNotify();
        } while (finalCheckForRequests());
        return notify;
    }

    private void live() {
        if (halted != null) throw halted;
    }
}
