package org.jxen.drivers.blk.front;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.BlkifRequestIndirect;
import org.jxen.drivers.blk.BlkifResponse;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.RingOverflowException;
import org.jxen.xenbus.XenbusDevice;

/**
 * blkfront's request queue (the blk-mq queue over blkfront's rings): requests wait in a software queue and go
 * onto the rings, round robin over the queues, while a ring has a free slot and enough pages of the granted pool
 * are free; a request longer than one ring request carries is split. Responses are matched to their requests by
 * id and validated: an id that is not in flight is ignored with a log line, an operation that does not match
 * fails that request. A large request's completion (its pool pages are free again) refills the rings at once, so
 * the backend reads the next request while the completed ones are copied out.
 *
 * <p>The connection's phases gate the dispatch: requests wait while no connection is up; on a backend
 * disconnect the requests in flight are requeued when the backend stays online (they are sent again after the
 * reconnect) and failed otherwise; none is dropped silently.
 *
 * <p>Everything is guarded by this object's monitor: callers take it to submit, the event thread to take
 * responses (as blkfront's interrupt handler takes the ring lock), the bus worker to connect and disconnect.
 */
final class RequestQueue {
    private static final long CLOSE_GRACE_MS = 5000;
    /** A completion that frees at least this much of the pool refills the rings before the next response. */
    private static final long REFILL_AT_ONCE_BYTES = 64 << 10;

    private enum Phase { IDLE, CONNECTING, CONNECTED, CLOSING, REMOVED }

    private final XenbusDevice dev;
    private final String name;
    private final int devid;
    private final BlkFront.Params params;
    /** Runs shared reads' readers (the device's completion thread). */
    private final Executor completions;

    // Everything below is guarded by this.
    private Phase phase = Phase.IDLE;
    private final Deque<Request> pending = new ArrayDeque<>();
    /** The rings and pool of the current connection: set up by {@link #setUp}, torn down at disconnect. */
    private RingSet rings;
    /** Pool pages a shared read's reader is using: neither free nor in flight ({@link #lend}). */
    private final Set<PagePool.Page[]> lentOut = Collections.newSetFromMap(new IdentityHashMap<>());
    private Negotiation.Features features = Negotiation.Features.NONE;
    private boolean flushSupported;
    private boolean discardSupported;
    private int inflight;
    private int nextQueue;
    private long submitted;
    private long ignoredResponses;
    private long requeued;
    /** The rings of the last {@link #setUp} reached Connected. */
    private boolean connectedSinceSetUp;
    /** The backend closed us and we will not reconnect: requests fail at once until a new {@link #setUp}. */
    private boolean closedByBackend;

    RequestQueue(XenbusDevice dev, String name, int devid, BlkFront.Params params, Executor completions) {
        this.dev = dev;
        this.name = name;
        this.devid = devid;
        this.params = params;
        this.completions = completions;
    }

    // ---------------------------------------------------------------- state

    synchronized boolean isConnected() {
        return phase == Phase.CONNECTED;
    }

    synchronized Negotiation.Features features() {
        return features;
    }

    synchronized boolean flushSupported() {
        return flushSupported;
    }

    synchronized boolean discardSupported() {
        return discardSupported;
    }

    synchronized int queues() {
        return rings == null ? 0 : rings.queues.size();
    }

    synchronized int queueDepth() {
        int n = 0;
        if (rings != null) for (FrontQueue q : rings.queues) n += q.size();
        return n;
    }

    synchronized long submitted() {
        return submitted;
    }

    synchronized long ignoredResponses() {
        return ignoredResponses;
    }

    synchronized long requeued() {
        return requeued;
    }

    /** Whether the rings of the last set-up reached Connected: a backend that closes them may be reconnected. */
    synchronized boolean connectedSinceSetUp() {
        return connectedSinceSetUp;
    }

    void log(String line) {
        dev.xenbus().printk("blkfront: " + name + ": " + line);
    }

    // ---------------------------------------------------------------- submission

    /** Queues {@code r}, or fails it through its own future once no connection will come. */
    void submit(Request r) {
        synchronized (this) {
            if (phase == Phase.REMOVED) {
                r.done.completeExceptionally(new BlockIOException((short) 0, name + " is gone"));
                return;
            }
            if (closedByBackend) {
                r.done.completeExceptionally(new BlockIOException((short) 0, name + ": device closed by the backend"));
                return;
            }
            pending.add(r);
            kick();
        }
    }

    /** Moves pending requests onto the rings while there is room; one notification per ring. */
    private void kick() {
        if (phase != Phase.CONNECTED || rings == null) return;
        PagePool pool = rings.pool;
        boolean any = false;
        while (!pending.isEmpty()) {
            Request r = pending.peek();
            if (r.op == Blkif.OP_FLUSH_DISKCACHE && !flushSupported) {
                pending.poll();
                r.done.complete(null);
                continue;
            }
            if (r.op == Blkif.OP_DISCARD && !discardSupported) {
                pending.poll();
                r.done.completeExceptionally(new BlockIOException(Blkif.RSP_EOPNOTSUPP, name + ": no discard support"));
                continue;
            }
            FrontQueue q = queueWithRoom();
            if (q == null) break;
            long maxSect = (long) features.segmentsPerRequest() * Blkif.SECTORS_PER_PAGE;
            if (r.movesData() && r.nsect > maxSect) {
                pending.poll();
                split(r, maxSect);
                continue;
            }
            int nData = r.dataPages();
            int nInd = nData > Blkif.MAX_SEGMENTS_PER_REQUEST ? BlkifRequestIndirect.pagesFor(nData) : 0;
            if (pool.available() < nData + nInd) break;
            pending.poll();
            PagePool.Page[] pages = pool.take(nData + nInd); // data pages first, then indirect ones
            if (r.op == Blkif.OP_WRITE) pool.copyIn(r.buf, (int) r.off, r.nsect * Blkif.SECTOR_SIZE, pages);
            q.put(r, pages, nData, nInd);
            inflight++;
            submitted++;
            any = true;
        }
        if (!any) return;
        for (FrontQueue q : rings.queues) {
            if (!q.push()) continue;
            try {
                q.notify(dev);
            } catch (HypercallException e) {
                log("notify: " + e.getMessage());
            }
        }
    }

    private FrontQueue queueWithRoom() {
        List<FrontQueue> queues = rings.queues;
        for (int i = 0; i < queues.size(); i++) {
            FrontQueue q = queues.get((nextQueue + i) % queues.size());
            if (q.hasRoom()) {
                nextQueue = (nextQueue + i + 1) % queues.size();
                return q;
            }
        }
        return null;
    }

    /** Replaces {@code r} at the head of the queue by parts of at most {@code maxSect} sectors. */
    private void split(Request r, long maxSect) {
        List<Request> parts = new ArrayList<>();
        for (long done = 0; done < r.nsect; done += maxSect) parts.add(r.part(done, Math.min(maxSect, r.nsect - done)));
        CompletableFuture.allOf(parts.stream().map(p -> p.done).toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> {
                    if (e != null) r.done.completeExceptionally(cause(e));
                    else r.done.complete(null);
                });
        for (int i = parts.size() - 1; i >= 0; i--) pending.addFirst(parts.get(i));
    }

    /** What a request failed with, without the CompletionException that dependent futures wrap it in. */
    static Throwable cause(Throwable e) {
        return e instanceof CompletionException c && c.getCause() != null ? c.getCause() : e;
    }

    // ---------------------------------------------------------------- responses (event thread)

    /** An event on queue {@code q} of {@code set}: ignored unless {@code set} is the connection's rings. */
    private void onEvent(RingSet set, int q) {
        synchronized (this) {
            if (rings != set) return;
            drain(set.queues.get(q));
            kick();
        }
    }

    /** Takes every response off {@code q}'s ring. */
    private void drain(FrontQueue q) {
        try {
            while (q.nextResponse()) {
                // A large request's pool pages are free again once it completed (a read's data copied out):
                // refill the ring at once, so the backend reads the next request while we copy the ones behind it.
                if (complete(q) >= REFILL_AT_ONCE_BYTES) kick();
            }
        } catch (RingOverflowException e) {
            log("bogus response producer on queue " + q.index);
            dev.runOnBus(() -> dev.devFatal(Errno.EPROTO, "bogus response producer from the backend: " + e.getMessage()));
        }
    }

    /** Completes the request {@code q}'s current response answers; returns the bytes of data it carried (0 if none). */
    private long complete(FrontQueue q) {
        BlkifResponse rsp = q.response();
        long id = rsp.id();
        FrontQueue.Shadow s = q.take(id);
        if (s == null) {
            ignoredResponses++;
            log("response for unknown id " + Long.toUnsignedString(id) + " on queue " + q.index + " ignored");
            return 0;
        }
        inflight--;
        Request r = s.req();
        short status = rsp.status();
        PagePool pool = rings.pool;
        Throwable failure = null;
        if (rsp.operation() != r.op) {
            log("response to " + Blkif.opName(r.op) + " id " + id + " has operation " + rsp.operation());
            failure = new BlockIOException(Blkif.RSP_ERROR, "bad response operation " + rsp.operation() + " for "
                    + Blkif.opName(r.op));
        } else if (status == Blkif.RSP_OKAY && r.reader != null) {
            lend(r, s);
            if (inflight == 0) notifyAll();
            return 0; // its pages are free only once the reader returns
        } else if (status == Blkif.RSP_OKAY) {
            if (r.op == Blkif.OP_READ) pool.copyOut(s.pages(), r.nsect * Blkif.SECTOR_SIZE, r.buf, (int) r.off);
        } else if (r.op == Blkif.OP_FLUSH_DISKCACHE && (status == Blkif.RSP_EOPNOTSUPP || status == Blkif.RSP_ERROR)) {
            // Linux's blkif_completion: an empty flush the backend cannot do is BLK_STS_NOTSUPP, which it turns
            // into success after switching flushes off (xlvbd_flush); later flushes complete without a request.
            flushSupported = false;
            log("empty flush diskcache op failed (status " + status + "); disabling flushes");
        } else {
            if (status == Blkif.RSP_EOPNOTSUPP && r.op == Blkif.OP_DISCARD) discardSupported = false;
            failure = new BlockIOException(status, name + ": " + Blkif.opName(r.op) + " of " + r.nsect
                    + " sectors at " + r.sector + " failed with status " + status);
        }
        // The pages go back before the request ends: an end_io callback that submits the next request finds them.
        pool.give(s.pages());
        if (inflight == 0) notifyAll();
        if (failure == null) r.done.complete(null);
        else r.done.completeExceptionally(failure);
        return (long) s.nData() * Blkif.PAGE_SIZE;
    }

    /**
     * Runs a shared read's reader on the completion thread over the pages the backend filled, then returns them
     * to the pool and refills the rings. If the connection went away meanwhile, the pages belong to no pool any
     * more: {@link #disconnect} left them to us, and we end their grants and free them.
     */
    private void lend(Request r, FrontQueue.Shadow s) {
        RingSet from = rings;
        lentOut.add(s.pages());
        completions.execute(() -> {
            Throwable failure = null;
            try {
                from.pool.lend(s.pages(), r.nsect * Blkif.SECTOR_SIZE, r.off, r.reader);
            } catch (Throwable e) { // the caller's code: whatever it throws fails its read, never our thread
                failure = e;
            } finally {
                synchronized (this) {
                    lentOut.remove(s.pages());
                    notifyAll(); // remove() may be waiting for the pages
                    if (rings == from) {
                        from.pool.give(s.pages());
                        kick();
                    } else {
                        PagePool.release(dev, s.pages());
                    }
                }
            }
            if (failure == null) r.done.complete(null);
            else r.done.completeExceptionally(failure);
        });
    }

    // ---------------------------------------------------------------- connection (bus worker)

    /** talk_to_blkback: rings, channels and the buffer pool set up and published, in one transaction. */
    synchronized void setUp(Negotiation.Rings choice) throws IOException, HypercallException {
        closeRings(); // a failed earlier attempt
        connectedSinceSetUp = false;
        closedByBackend = false;
        rings = RingSet.open(dev, devid, params.poolPages(), choice, this::onEvent,
                tx -> Negotiation.writeFrontendKeys(dev, tx, params));
        phase = Phase.CONNECTING;
    }

    /** The disk's new size (the backend resized it while connected); true if it changed. */
    synchronized boolean resize(long sectors) {
        if (features.sectors() == sectors) return false;
        Negotiation.Features f = features;
        features = new Negotiation.Features(sectors, f.sectorSize(), f.readOnly(), f.flush(), f.discard(),
                f.persistent(), f.segmentsPerRequest(), f.cdrom());
        return true;
    }

    /** blkfront_connect: the backend's details; requests queued meanwhile (or requeued) go out now. */
    synchronized void connect(Negotiation.Features f) {
        features = f;
        flushSupported = f.flush();
        discardSupported = f.discard();
        phase = Phase.CONNECTED;
        connectedSinceSetUp = true;
        log(f.sectors() + " sectors, " + rings.queues.size() + " queue(s) of " + rings.queues.getFirst().size()
                + " slots, " + f.segmentsPerRequest() + " segments per request"
                + (f.persistent() ? ", persistent grants" : "") + (f.readOnly() ? ", read-only" : "")
                + (f.cdrom() ? ", cdrom" : ""));
        kick();
    }

    /**
     * The backend is closing: stop sending, give requests in flight up to 5 s to complete (the backend keeps
     * serving until we close), then tear the rings down. What is still in flight is requeued when
     * {@code requeue} (the backend stays online and will reconnect) and failed otherwise.
     */
    synchronized void disconnect(boolean requeue) {
        if (phase == Phase.REMOVED) return;
        takeDown(requeue, true);
    }

    /**
     * blkfront_resume, blkif_free(info, 1): the domain resumed as a new one and the old backend is gone, so
     * nothing in flight will be answered on the old rings, and there is nothing to wait for. Answers already there
     * are taken; every other request in flight goes back to the head of the queue, to be sent to the new backend
     * once it is Connected (blkif_recover). Nothing is lost or failed.
     */
    synchronized void suspend() {
        if (phase == Phase.REMOVED) return;
        int before = pending.size();
        takeDown(true, false);
        if (pending.size() > before) log((pending.size() - before) + " request(s) requeued for the resume");
    }

    private void takeDown(boolean requeue, boolean grace) {
        if (grace && phase == Phase.CONNECTED) {
            phase = Phase.CLOSING;
            long deadline = System.nanoTime() + CLOSE_GRACE_MS * 1_000_000L;
            while (inflight > 0) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) break;
                try {
                    wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        phase = Phase.CLOSING;
        List<Request> stranded = new ArrayList<>();
        if (rings != null) {
            for (FrontQueue q : rings.queues) drain(q);
            for (FrontQueue q : rings.queues) stranded.addAll(q.strand());
        }
        inflight -= stranded.size();
        closeRings();
        if (requeue) {
            for (int i = stranded.size() - 1; i >= 0; i--) pending.addFirst(stranded.get(i));
            requeued += stranded.size();
            if (!stranded.isEmpty() && grace) log(stranded.size() + " request(s) requeued for the reconnect");
            phase = Phase.IDLE;
        } else {
            // No reconnect follows: what was on the rings or waits to go on them fails now (failAll), and so does
            // whatever is submitted before a new set-up, instead of waiting for rings that will not come.
            BlockIOException e = new BlockIOException((short) 0, name + ": device closed by the backend");
            phase = Phase.IDLE;
            closedByBackend = true;
            failAll(stranded, e);
        }
        notifyAll();
    }

    /** The device is gone (removed, or the driver unloads): fail whatever is left. False if it was gone already. */
    synchronized boolean remove() {
        if (phase == Phase.REMOVED) return false;
        disconnect(false);
        phase = Phase.REMOVED;
        awaitLentPages();
        failAll(new ArrayList<>(), new BlockIOException((short) 0, name + " removed"));
        return true;
    }

    /** The rings and the pool's grants end with the connection, but for pages a shared read's reader still reads. */
    private void closeRings() {
        if (rings == null) return;
        rings.close(dev, lentOut);
        rings = null;
    }

    /**
     * Fails {@code reqs} and then every pending request. The queue is emptied first: an end_io callback runs
     * inside completeExceptionally, on this thread, and may submit again (to the queue, for the next connection,
     * or refused once the device is removed).
     */
    private void failAll(List<Request> reqs, BlockIOException e) {
        reqs.addAll(pending);
        pending.clear();
        for (Request r : reqs) r.done.completeExceptionally(e);
    }

    /**
     * Before the device goes (and xenbus ends whatever grants it still holds, without their pages), gives
     * shared reads' readers up to 5 s to return their pages, which lend() then ends and frees.
     */
    private void awaitLentPages() {
        long deadline = System.nanoTime() + CLOSE_GRACE_MS * 1_000_000L;
        while (!lentOut.isEmpty()) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                log(lentOut.size() + " shared read(s) still hold pool pages at removal; their pages are not freed");
                return;
            }
            try {
                wait(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
