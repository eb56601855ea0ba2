package org.jxen.drivers.blk;

import org.jxen.hypervisor.Errno;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.FrontRing;
import org.jxen.ring.RingOverflowException;
import org.jxen.ring.SharedRingLayout;
import org.jxen.xenbus.XenbusDevice;

/**
 * A virtual block device as guest code sees it (Linux's xen-blkfront gendisk): asynchronous {@link #read},
 * {@link #write}, {@link #flush} and {@link #discard} returning CompletableFutures, plus the disk's size,
 * sector size and read-only flag. Sectors are 512 bytes.
 *
 * <p>Requests wait in a software queue and go onto the rings (one per queue, round robin) while a ring has a
 * free slot and enough pages of the granted buffer pool are free; {@link #queueDepth()} is how many can be on
 * the rings at once. The data is copied into pages of a pool ({@link PagePool}) granted to the backend at
 * connect, so no guest page outside the pool is ever shared; with feature-persistent (both ends offer it) the
 * backend keeps those pages mapped instead of mapping each grant per request. A request longer than 11
 * segments goes as an indirect request when the backend offers feature-max-indirect-segments, and a request
 * longer than what one ring request can carry is split. A large request's completion (a read, a write or a
 * failure: its pool pages are free again) refills the rings at once, so the backend reads the next request
 * while the completed ones are copied out.
 *
 * <p>Responses are validated: an id that is not in flight is ignored with a log line; an operation that does
 * not match fails that request. On a backend disconnect, requests in flight are requeued when the backend
 * stays online (they are sent again after the reconnect) and failed otherwise; none is dropped silently.
 * Futures complete on this device's own completion thread, never on the event thread. The {@link EndIo}
 * variants of read and write are Linux's bio end_io instead: the callback runs where the request ends, normally
 * on the event thread right after the data is copied out and the request's pool pages are free (Linux's
 * blkif_interrupt completes requests in the interrupt handler the same way). It saves the hand-off to the
 * completion thread, two thread wake-ups per request, for callers that only record the result and submit more.
 *
 * <p>{@link #readShared} is the zero-copy read: instead of copying the pool pages into an array it lends them
 * to the caller where the backend put the data (Linux blkfront without persistent grants gets the same single
 * copy by granting the bio's own pages; jxen's blkfront always reads into its persistent pool, so the pool
 * page is the only place the data lands). The pages return to the pool when the reader returns.
 */
public final class BlockFront {
    private static final String PROTOCOL = "x86_64-abi";
    private static final long CLOSE_GRACE_MS = 5000;
    /** A completion that frees at least this much of the pool refills the rings before the next response. */
    private static final long REFILL_AT_ONCE_BYTES = 64 << 10;

    private final XenbusDevice dev;
    private final String name;
    private final int devid;
    private final BlkFront.Params params;
    private final ExecutorService completions;
    private final CompletableFuture<BlockFront> connected = new CompletableFuture<>();

    private enum Phase { IDLE, CONNECTING, CONNECTED, CLOSING, REMOVED }

    // Everything below is guarded by this.
    private Phase phase = Phase.IDLE;
    private final List<FQueue> queues = new ArrayList<>();
    private final Deque<Req> pending = new ArrayDeque<>();
    private PagePool pool; // granted at the first setUp, ended at disconnect
    /** Pool pages a shared read's reader is using: neither free nor in flight ({@link #lend}). */
    private final Set<PagePool.Page[]> lentOut = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Scratch for one indirect page's segment descriptors. */
    private final long[] descriptors = new long[Blkif.SEGMENTS_PER_INDIRECT_PAGE];
    private int inflight;
    private int nextQueue;
    private long sectors;
    private int sectorSize = Blkif.SECTOR_SIZE;
    private boolean readOnly;
    private boolean flushSupported;
    private boolean discardSupported;
    private boolean persistent;
    private int segmentsPerRequest = Blkif.MAX_SEGMENTS_PER_REQUEST;
    private long submitted;
    private long ignoredResponses;
    private long requeued;
    /** The rings of the last {@link #setUp} reached Connected. */
    private boolean connectedSinceSetUp;
    /** The backend closed us and we will not reconnect: requests fail at once until a new {@link #setUp}. */
    private boolean closedByBackend;

    /**
     * Receives the data of a {@link #readShared}: called once per run of consecutive guest frames with the run's
     * byte offset within the read and a read-only view of the pool pages that hold it. The runs of one ring
     * request come in disk order; a read longer than one request ({@link #segmentsPerRequest()} pages) is split
     * and its parts may arrive in any order. The view is valid only during the call (the pages go back to the
     * pool afterwards). Calls come from the device's completion thread, one at a time; an exception fails the
     * read with it.
     */
    @FunctionalInterface
    public interface SectorReader {
        void accept(long offset, MemorySegment data);
    }

    /**
     * Called once when a read or write submitted with it ends: {@code failure} is null on success, else the
     * {@link BlockIOException} (or IllegalArgumentException for a bad request) it failed with. It runs on the
     * thread that ends the request — the device's event thread for a backend response, with the device's lock
     * held, like an interrupt handler; the thread that disconnects or removes the device for requests failed
     * then; the caller's own thread for a request refused at once. So it must not block or wait for other
     * requests; it may submit new ones (they go onto the ring in the same pass). What it throws is logged and
     * dropped.
     */
    @FunctionalInterface
    public interface EndIo {
        void ended(Throwable failure);
    }

    /**
     * A request: read/write of nsect sectors to/from buf[off..] (or, a shared read, lent to reader with the data
     * at byte off of the whole read), flush, or discard of nsect sectors.
     */
    private static final class Req {
        final int op;
        final long sector;
        final long nsect;
        final byte[] buf;
        final SectorReader reader;
        final long off;
        final CompletableFuture<Void> done;

        Req(int op, long sector, long nsect, byte[] buf, int off, CompletableFuture<Void> done) {
            this(op, sector, nsect, buf, null, off, done);
        }

        Req(int op, long sector, long nsect, byte[] buf, SectorReader reader, long off, CompletableFuture<Void> done) {
            this.op = op;
            this.sector = sector;
            this.nsect = nsect;
            this.buf = buf;
            this.reader = reader;
            this.off = off;
            this.done = done;
        }
    }

    private record Shadow(Req req, PagePool.Page[] pages, int nData) {}

    private final class FQueue {
        final int index;
        final MemorySegment[] ringPages;
        int[] ringRefs = new int[0];
        FrontRing ring;
        int port = -1;
        Shadow[] shadows;
        final ArrayDeque<Integer> freeIds = new ArrayDeque<>();
        final MemorySegment rsp = Arena.ofAuto().allocate(Blkif.ENTRY_SIZE, 8);
        boolean broken;
        /** Requests were put on the ring since the last push (kick pushes once per ring). */
        boolean touched;

        FQueue(int index, int pages) {
            this.index = index;
            this.ringPages = new MemorySegment[pages];
        }
    }

    BlockFront(XenbusDevice dev, String name, int devid, BlkFront.Params params) {
        this.dev = dev;
        this.name = name;
        this.devid = devid;
        this.params = params;
        this.completions = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "blkfront-" + name + "-" + dev.xenbus().domid());
            t.setDaemon(true);
            return t;
        });
    }

    // ---------------------------------------------------------------- the block-device API

    public String name() {
        return name;
    }

    public int devid() {
        return devid;
    }

    /** Completes when the device is first Connected. */
    public CompletableFuture<BlockFront> whenConnected() {
        return connected;
    }

    public synchronized boolean isConnected() {
        return phase == Phase.CONNECTED;
    }

    /** Size in 512-byte sectors. */
    public synchronized long sectors() {
        return sectors;
    }

    public synchronized long sizeBytes() {
        return sectors * Blkif.SECTOR_SIZE;
    }

    /** The backend's sector-size (the unit of the disk; the protocol's unit is always 512). */
    public synchronized int sectorSize() {
        return sectorSize;
    }

    public synchronized boolean readOnly() {
        return readOnly;
    }

    public synchronized boolean flushSupported() {
        return flushSupported;
    }

    public synchronized boolean discardSupported() {
        return discardSupported;
    }

    public synchronized int queues() {
        return queues.size();
    }

    /** Requests the rings hold at once (all queues); more wait in the software queue. */
    public synchronized int queueDepth() {
        int n = 0;
        for (FQueue q : queues) n += q.ring.size();
        return n;
    }

    /** Whether both ends offered feature-persistent: the backend keeps the pool's grants mapped. */
    public synchronized boolean persistentGrants() {
        return persistent;
    }

    /** Segments one ring request carries: 11, or the negotiated indirect maximum. */
    public synchronized int segmentsPerRequest() {
        return segmentsPerRequest;
    }

    /** Ring requests sent so far (a split request counts once per part). */
    public synchronized long requestsSubmitted() {
        return submitted;
    }

    /** Responses ignored because their id was not in flight. */
    public synchronized long ignoredResponses() {
        return ignoredResponses;
    }

    /**
     * Ring requests that were still in flight when the backend went away while staying online, and were put
     * back in the queue to be sent again after the reconnect (a split request counts once per part).
     */
    public synchronized long requeuedRequests() {
        return requeued;
    }

    /** Reads {@code count} sectors from {@code sector}. */
    public CompletableFuture<byte[]> read(long sector, int count) {
        if (count <= 0) return CompletableFuture.failedFuture(new IllegalArgumentException("count " + count));
        byte[] buf = new byte[Math.multiplyExact(count, Blkif.SECTOR_SIZE)];
        return read(sector, buf, 0, buf.length).thenApply(v -> buf);
    }

    /** Reads {@code len} bytes (whole sectors) from {@code sector} into {@code buf[off..]}. */
    public CompletableFuture<Void> read(long sector, byte[] buf, int off, int len) {
        return submitRw(Blkif.OP_READ, sector, buf, off, len);
    }

    /**
     * Reads {@code count} sectors from {@code sector} without copying them out of the shared pages: the data is
     * handed to {@code reader} (see {@link SectorReader}) and the future completes after the reader returned.
     */
    public CompletableFuture<Void> readShared(long sector, int count, SectorReader reader) {
        if (count <= 0) return CompletableFuture.failedFuture(new IllegalArgumentException("count " + count));
        if (reader == null) throw new NullPointerException("reader");
        return submit(new Req(Blkif.OP_READ, sector, count, null, reader, 0, new CompletableFuture<>()));
    }

    /** {@link #read(long, byte[], int, int)} that ends with {@code endIo} (see {@link EndIo}) instead of a future. */
    public void read(long sector, byte[] buf, int off, int len, EndIo endIo) {
        submitRw(Blkif.OP_READ, sector, buf, off, len, endIo);
    }

    /** {@link #write(long, byte[], int, int)} that ends with {@code endIo} (see {@link EndIo}) instead of a future. */
    public void write(long sector, byte[] buf, int off, int len, EndIo endIo) {
        submitRw(Blkif.OP_WRITE, sector, buf, off, len, endIo);
    }

    /** Writes {@code data} (whole sectors) at {@code sector}. */
    public CompletableFuture<Void> write(long sector, byte[] data) {
        return write(sector, data, 0, data.length);
    }

    public CompletableFuture<Void> write(long sector, byte[] buf, int off, int len) {
        return submitRw(Blkif.OP_WRITE, sector, buf, off, len);
    }

    /**
     * BLKIF_OP_FLUSH_DISKCACHE: everything completed before it is durable once it completes. Without the backend's
     * feature-flush-cache it completes at once and nothing is sent: as in Linux, a device without a write cache
     * has nothing to flush. A flush the backend answers with EOPNOTSUPP, or with ERROR, turns flushing off and
     * completes normally, as Linux blkfront's completion does: an empty flush that failed counts as "not
     * supported". So an I/O error of the backend's fsync is reported as success (and logged), as it is to a
     * Linux guest; {@link #flushSupported()} then reads false.
     */
    public CompletableFuture<Void> flush() {
        return submit(new Req(Blkif.OP_FLUSH_DISKCACHE, 0, 0, null, 0, new CompletableFuture<>()));
    }

    /**
     * BLKIF_OP_DISCARD of {@code count} sectors (the backend punches a hole). Without the backend's feature-discard
     * it fails at once with EOPNOTSUPP and nothing is sent.
     */
    public CompletableFuture<Void> discard(long sector, long count) {
        if (count <= 0) return CompletableFuture.failedFuture(new IllegalArgumentException("count " + count));
        return submit(new Req(Blkif.OP_DISCARD, sector, count, null, 0, new CompletableFuture<>()));
    }

    /** A read or write whose future's continuations run on the completion thread. */
    private CompletableFuture<Void> submitRw(int op, long sector, byte[] buf, int off, int len) {
        CompletableFuture<Void> bad = badLength(buf, off, len);
        return bad != null ? bad : submit(new Req(op, sector, len / Blkif.SECTOR_SIZE, buf, off, new CompletableFuture<>()));
    }

    /**
     * A read or write that ends with {@code endIo}, on the thread that ends the request. The callback is attached
     * before the request can reach a ring: attached after, it ran on the caller's thread whenever the answer
     * came back first.
     */
    private void submitRw(int op, long sector, byte[] buf, int off, int len, EndIo endIo) {
        if (endIo == null) throw new NullPointerException("endIo");
        CompletableFuture<Void> bad = badLength(buf, off, len);
        if (bad != null) {
            endIo(bad, endIo);
            return;
        }
        Req r = new Req(op, sector, len / Blkif.SECTOR_SIZE, buf, off, new CompletableFuture<>());
        endIo(r.done, endIo);
        submitDirect(r);
    }

    private static CompletableFuture<Void> badLength(byte[] buf, int off, int len) {
        if (len > 0 && len % Blkif.SECTOR_SIZE == 0 && off >= 0 && off + len <= buf.length) return null;
        return CompletableFuture.failedFuture(new IllegalArgumentException(
                "length " + len + " at " + off + " is not whole sectors within the buffer"));
    }

    /** Attaches {@code endIo} to a request's own future; it runs on whichever thread completes the future. */
    private void endIo(CompletableFuture<Void> done, EndIo endIo) {
        done.whenComplete((v, e) -> {
            try {
                endIo.ended(cause(e));
            } catch (Throwable t) { // the caller's code: it must not take the event thread down with it
                dev.xenbus().printk("blkfront: " + name + ": end_io callback threw " + t);
            }
        });
    }

    /** What a request failed with, without the CompletionException that dependent futures wrap it in. */
    private static Throwable cause(Throwable e) {
        return e instanceof java.util.concurrent.CompletionException c && c.getCause() != null ? c.getCause() : e;
    }

    private CompletableFuture<Void> submit(Req r) {
        CompletableFuture<Void> done = submitDirect(r);
        // Callers' continuations run on our completion thread, never under our lock or on the event thread.
        return done.thenApplyAsync(v -> v, this::onCompletionThread);
    }

    /** Queues {@code r} and returns its own future, which completes on the thread that ends the request. */
    private CompletableFuture<Void> submitDirect(Req r) {
        synchronized (this) {
            // Failed through the request's own future, which an EndIo may already be attached to.
            if (phase == Phase.REMOVED) {
                r.done.completeExceptionally(new BlockIOException((short) 0, name + " is gone"));
                return r.done;
            }
            if (closedByBackend) {
                r.done.completeExceptionally(new BlockIOException((short) 0, name + ": device closed by the backend"));
                return r.done;
            }
            pending.add(r);
            kick();
        }
        return r.done;
    }

    /**
     * Runs a caller's continuation on the completion thread; once the device is removed (the thread is shutting
     * down) a shared read's reader may still finish, and its continuation then runs on the reader's thread.
     */
    private void onCompletionThread(Runnable task) {
        try {
            completions.execute(task);
        } catch (RejectedExecutionException e) {
            task.run();
        }
    }

    /** Tests: queue {@code q}'s request producer jumps far ahead (a broken or malicious frontend), then a notify. */
    synchronized void breakRingForTest(int q) throws HypercallException {
        FQueue fq = queues.get(q);
        fq.ring.layout().setReqProd(fq.ring.layout().rspProd() + 1000);
        dev.notify(fq.port);
    }

    /** Tests: a ring and event channel taken over by test code acting as a hostile guest kernel. */
    record RawQueue(FrontRing ring, int port) {}

    /**
     * Tests: takes idle queue {@code q} away from this driver (marked broken, so it neither puts requests on it
     * nor takes responses off it) and hands its ring and port to the caller, who writes requests by hand. Valid
     * until the next disconnect, which frees the ring's page.
     */
    synchronized RawQueue takeQueueForTest(int q) {
        FQueue fq = queues.get(q);
        for (Shadow s : fq.shadows) if (s != null) throw new IllegalStateException("queue " + q + " is busy");
        fq.broken = true;
        return new RawQueue(fq.ring, fq.port);
    }

    // ---------------------------------------------------------------- connection (bus worker)

    /** talk_to_blkback: rings, channels and the buffer pool set up and published, in one transaction. */
    synchronized void setUp(int numQueues, int order) throws IOException, HypercallException {
        teardownQueues(); // a failed earlier attempt
        connectedSinceSetUp = false;
        closedByBackend = false;
        if (pool == null) {
            int n = params.poolPages();
            MemorySegment[] segs = new MemorySegment[n];
            int allocated = 0;
            int[] refs;
            try {
                // A guest too small for the pool runs out of frames part way: give back what was taken.
                for (; allocated < n; allocated++) segs[allocated] = dev.xenbus().allocPage();
                refs = dev.grantRing(segs);
            } catch (HypercallException | RuntimeException e) {
                for (int i = 0; i < allocated; i++) dev.xenbus().freePage(segs[i]);
                throw e;
            }
            pool = new PagePool(dev.xenbus().hypercalls().memory(), segs, refs);
        }
        int pages = 1 << order;
        for (int qi = 0; qi < numQueues; qi++) {
            FQueue q = new FQueue(qi, pages);
            queues.add(q);
            for (int i = 0; i < pages; i++) q.ringPages[i] = dev.xenbus().allocPage();
            SharedRingLayout layout = pages == 1 ? new SharedRingLayout(q.ringPages[0], Blkif.ENTRY_SIZE)
                    : new SharedRingLayout(List.of(q.ringPages), Blkif.ENTRY_SIZE);
            q.ring = new FrontRing(layout).init();
            q.shadows = new Shadow[q.ring.size()];
            for (int id = 0; id < q.shadows.length; id++) q.freeIds.add(id);
            q.ringRefs = dev.grantRing(q.ringPages);
            q.port = dev.allocEvtchn(p -> onEvent(q));
        }
        List<FQueue> qs = List.copyOf(queues);
        dev.transaction(tx -> {
            // A directory the toolstack removed meanwhile must not be re-created by our writes.
            if (!tx.exists(dev.nodename() + "/state")) return null;
            if (order > 0) dev.printf(tx, "ring-page-order", "%d", order);
            if (qs.size() > 1) dev.printf(tx, "multi-queue-num-queues", "%d", qs.size());
            for (FQueue q : qs) {
                String dir = qs.size() > 1 ? "queue-" + q.index + "/" : "";
                if (order == 0) {
                    dev.printf(tx, dir + "ring-ref", "%d", q.ringRefs[0]);
                } else {
                    for (int i = 0; i < q.ringRefs.length; i++) dev.printf(tx, dir + "ring-ref" + i, "%d", q.ringRefs[i]);
                }
                dev.printf(tx, dir + "event-channel", "%d", q.port);
            }
            dev.printf(tx, "protocol", "%s", PROTOCOL);
            dev.printf(tx, "feature-persistent", "%d", params.featurePersistent() ? 1 : 0);
            return null;
        });
        phase = Phase.CONNECTING;
    }

    /** blkfront_connect: the backend's details; requests queued meanwhile (or requeued) go out now. */
    void connect(Map<String, String> details) {
        synchronized (this) {
            sectors = Long.parseLong(details.get("sectors").strip());
            sectorSize = number(details.get("sector-size"), Blkif.SECTOR_SIZE);
            int info = number(details.get("info"), 0);
            readOnly = (info & Blkif.VDISK_READONLY) != 0;
            flushSupported = number(details.get("feature-flush-cache"), 0) == 1;
            discardSupported = number(details.get("feature-discard"), 0) == 1;
            persistent = params.featurePersistent() && number(details.get("feature-persistent"), 0) == 1;
            int indirect = number(details.get("feature-max-indirect-segments"), 0);
            int cap = Math.min(params.maxIndirectSegments(), params.poolPages() - Blkif.MAX_INDIRECT_PAGES_PER_REQUEST);
            segmentsPerRequest = indirect > Blkif.MAX_SEGMENTS_PER_REQUEST
                    ? Math.max(Blkif.MAX_SEGMENTS_PER_REQUEST, Math.min(Math.min(indirect, Blkif.MAX_INDIRECT_SEGMENTS), cap))
                    : Blkif.MAX_SEGMENTS_PER_REQUEST;
            phase = Phase.CONNECTED;
            connectedSinceSetUp = true;
            dev.xenbus().printk("blkfront: " + name + ": " + sectors + " sectors, " + queues.size() + " queue(s) of "
                    + queues.get(0).ring.size() + " slots, " + segmentsPerRequest + " segments per request"
                    + (persistent ? ", persistent grants" : "") + (readOnly ? ", read-only" : ""));
            kick();
        }
        connected.complete(this);
    }

    /** Whether the rings of the last set-up reached Connected: a backend that closes them may be reconnected. */
    synchronized boolean connectedSinceSetUp() {
        return connectedSinceSetUp;
    }

    private static int number(String v, int dflt) {
        if (v == null) return dflt;
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    /**
     * The backend is closing: stop sending, give requests in flight up to 5 s to complete (the backend keeps
     * serving until we close), then tear the rings down. What is still in flight is requeued when
     * {@code requeue} (the backend stays online and will reconnect) and failed otherwise.
     */
    synchronized void disconnect(boolean requeue) {
        if (phase == Phase.REMOVED) return;
        if (phase == Phase.CONNECTED) {
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
        for (FQueue q : queues) drain(q);
        List<Req> stranded = new ArrayList<>();
        for (FQueue q : queues) {
            for (int id = 0; id < q.shadows.length; id++) {
                Shadow s = q.shadows[id];
                if (s == null) continue;
                q.shadows[id] = null;
                inflight--;
                stranded.add(s.req);
            }
        }
        teardownQueues();
        // The pool's grants end with the connection (the backend may still map pages of a request it is
        // finishing: the grant and the page are released once it unmaps).
        if (pool != null) {
            // Pages lent to a shared read's reader are still being read: lend() frees them when it returns.
            BitSet lent = new BitSet();
            for (PagePool.Page[] pages : lentOut) for (PagePool.Page p : pages) lent.set(p.index());
            for (PagePool.Page p : pool.all()) {
                if (!lent.get(p.index())) dev.endAccessAndFree(p.ref(), p.seg());
            }
            pool = null;
        }
        if (requeue) {
            for (int i = stranded.size() - 1; i >= 0; i--) pending.addFirst(stranded.get(i));
            requeued += stranded.size();
            if (!stranded.isEmpty()) {
                dev.xenbus().printk("blkfront: " + name + ": " + stranded.size() + " request(s) requeued for the reconnect");
            }
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

    /** The device is gone (removed, or the driver unloads): fail whatever is left. */
    void remove() {
        synchronized (this) {
            if (phase == Phase.REMOVED) return;
            disconnect(false);
            phase = Phase.REMOVED;
            awaitLentPages();
            failAll(new ArrayList<>(), new BlockIOException((short) 0, name + " removed"));
        }
        connected.completeExceptionally(new BlockIOException((short) 0, name + " removed"));
        completions.shutdown();
    }

    /**
     * Fails {@code reqs} and then every pending request. The queue is emptied first: an {@link EndIo} callback
     * runs inside completeExceptionally, on this thread, and may submit again (to the queue, for the next
     * connection, or refused once the device is removed).
     */
    private void failAll(List<Req> reqs, BlockIOException e) {
        reqs.addAll(pending);
        pending.clear();
        for (Req r : reqs) r.done.completeExceptionally(e);
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
                dev.xenbus().printk("blkfront: " + name + ": " + lentOut.size()
                        + " shared read(s) still hold pool pages at removal; their pages are not freed");
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

    private void teardownQueues() {
        for (FQueue q : queues) {
            if (q.port >= 0) dev.freeEvtchn(q.port);
            q.port = -1;
            for (int i = 0; i < q.ringPages.length; i++) {
                if (q.ringPages[i] == null) continue;
                if (i < q.ringRefs.length) dev.endAccessAndFree(q.ringRefs[i], q.ringPages[i]);
                else dev.xenbus().freePage(q.ringPages[i]);
                q.ringPages[i] = null;
            }
        }
        queues.clear();
    }

    // ---------------------------------------------------------------- data path

    private void onEvent(FQueue q) {
        synchronized (this) {
            if (!queues.contains(q)) return;
            drain(q);
            kick();
        }
    }

    /** Takes every response off {@code q}'s ring. */
    private void drain(FQueue q) {
        if (q.broken) return;
        try {
            do {
                while (q.ring.copyNextResponse(q.rsp)) {
                    // A large request's pool pages are free again once it completed (a read's data copied out):
                    // refill the ring at once, so the backend reads the next request while we copy the ones behind it.
                    if (complete(q, q.rsp) >= REFILL_AT_ONCE_BYTES) kick();
                }
            } while (q.ring.finalCheckForResponses());
        } catch (RingOverflowException e) {
            q.broken = true;
            dev.xenbus().printk("blkfront: " + name + ": bogus response producer on queue " + q.index);
            dev.runOnBus(() -> dev.devFatal(Errno.EPROTO, "bogus response producer from the backend: " + e.getMessage()));
        }
    }

    /** Completes the request {@code copy} answers; returns the bytes of data it carried (0 if none or unknown). */
    private long complete(FQueue q, MemorySegment copy) {
        BlkifResponse rsp = new BlkifResponse().wrap(copy);
        long id = rsp.id();
        Shadow s = id >= 0 && id < q.shadows.length ? q.shadows[(int) id] : null;
        if (s == null) {
            ignoredResponses++;
            dev.xenbus().printk("blkfront: " + name + ": response for unknown id " + Long.toUnsignedString(id)
                    + " on queue " + q.index + " ignored");
            return 0;
        }
        q.shadows[(int) id] = null;
        q.freeIds.add((int) id);
        inflight--;
        Req r = s.req;
        short status = rsp.status();
        Throwable failure = null;
        if (rsp.operation() != r.op) {
            dev.xenbus().printk("blkfront: " + name + ": response to " + Blkif.opName(r.op) + " id " + id
                    + " has operation " + rsp.operation());
            failure = new BlockIOException(Blkif.RSP_ERROR, "bad response operation " + rsp.operation() + " for "
                    + Blkif.opName(r.op));
        } else if (status == Blkif.RSP_OKAY && r.reader != null) {
            lend(r, s);
            if (inflight == 0) notifyAll();
            return 0; // its pages are free only once the reader returns
        } else if (status == Blkif.RSP_OKAY) {
            if (r.op == Blkif.OP_READ) pool.copyOut(s.pages, r.nsect * Blkif.SECTOR_SIZE, r.buf, (int) r.off);
        } else if (r.op == Blkif.OP_FLUSH_DISKCACHE && (status == Blkif.RSP_EOPNOTSUPP || status == Blkif.RSP_ERROR)) {
            // Linux's blkif_completion: an empty flush the backend cannot do is BLK_STS_NOTSUPP, which it turns
            // into success after switching flushes off (xlvbd_flush); later flushes complete without a request.
            flushSupported = false;
            dev.xenbus().printk("blkfront: " + name + ": empty flush diskcache op failed (status " + status
                    + "); disabling flushes");
        } else {
            if (status == Blkif.RSP_EOPNOTSUPP && r.op == Blkif.OP_DISCARD) discardSupported = false;
            failure = new BlockIOException(status, name + ": " + Blkif.opName(r.op) + " of " + r.nsect
                    + " sectors at " + r.sector + " failed with status " + status);
        }
        // The pages go back before the request ends: an end_io callback that submits the next request finds them.
        pool.give(s.pages);
        if (inflight == 0) notifyAll();
        if (failure == null) r.done.complete(null);
        else r.done.completeExceptionally(failure);
        return (long) s.nData * Blkif.PAGE_SIZE;
    }

    /**
     * Runs a shared read's reader on the completion thread over the pages the backend filled, then returns them
     * to the pool and refills the rings. If the connection went away meanwhile, the pages belong to no pool any
     * more: {@link #disconnect} left them to us, and we end their grants and free them.
     */
    private void lend(Req r, Shadow s) {
        PagePool from = pool;
        lentOut.add(s.pages);
        completions.execute(() -> {
            Throwable failure = null;
            try {
                from.lend(s.pages, r.nsect * Blkif.SECTOR_SIZE, r.off, r.reader);
            } catch (Throwable e) { // the caller's code: whatever it throws fails its read, never our thread
                failure = e;
            } finally {
                synchronized (this) {
                    lentOut.remove(s.pages);
                    notifyAll(); // remove() may be waiting for the pages
                    if (pool == from) {
                        pool.give(s.pages);
                        kick();
                    } else {
                        for (PagePool.Page p : s.pages) dev.endAccessAndFree(p.ref(), p.seg());
                    }
                }
            }
            if (failure == null) r.done.complete(null);
            else r.done.completeExceptionally(failure);
        });
    }

    /** Moves pending requests onto the rings while there is room; one notification per ring. */
    private void kick() {
        if (phase != Phase.CONNECTED || queues.isEmpty()) return;
        boolean any = false;
        while (!pending.isEmpty()) {
            Req r = pending.peek();
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
            FQueue q = freeQueue();
            if (q == null) break;
            long maxSect = (long) segmentsPerRequest * Blkif.SECTORS_PER_PAGE;
            boolean rw = r.op == Blkif.OP_READ || r.op == Blkif.OP_WRITE;
            if (rw && r.nsect > maxSect) {
                pending.poll();
                split(r, maxSect);
                continue;
            }
            int nData = rw ? (int) ((r.nsect + Blkif.SECTORS_PER_PAGE - 1) / Blkif.SECTORS_PER_PAGE) : 0;
            int nInd = nData > Blkif.MAX_SEGMENTS_PER_REQUEST ? BlkifRequestIndirect.pagesFor(nData) : 0;
            if (pool.available() < nData + nInd) break;
            pending.poll();
            issue(q, r, nData, nInd);
            q.touched = true;
            any = true;
        }
        if (!any) return;
        for (FQueue q : queues) {
            if (!q.touched) continue;
            q.touched = false;
            if (q.ring.pushRequestsAndCheckNotify()) {
                try {
                    dev.notify(q.port);
                } catch (HypercallException e) {
                    dev.xenbus().printk("blkfront: " + name + ": notify: " + e.getMessage());
                }
            }
        }
    }

    private FQueue freeQueue() {
        for (int i = 0; i < queues.size(); i++) {
            FQueue q = queues.get((nextQueue + i) % queues.size());
            if (!q.broken && !q.ring.isFull() && !q.freeIds.isEmpty()) {
                nextQueue = (nextQueue + i + 1) % queues.size();
                return q;
            }
        }
        return null;
    }

    /** Replaces {@code r} at the head of the queue by parts of at most {@code maxSect} sectors. */
    private void split(Req r, long maxSect) {
        List<Req> parts = new ArrayList<>();
        for (long done = 0; done < r.nsect; done += maxSect) {
            long n = Math.min(maxSect, r.nsect - done);
            parts.add(new Req(r.op, r.sector + done, n, r.buf, r.reader, r.off + done * Blkif.SECTOR_SIZE,
                    new CompletableFuture<>()));
        }
        CompletableFuture.allOf(parts.stream().map(p -> p.done).toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> {
                    if (e != null) r.done.completeExceptionally(cause(e));
                    else r.done.complete(null);
                });
        for (int i = parts.size() - 1; i >= 0; i--) pending.addFirst(parts.get(i));
    }

    private void issue(FQueue q, Req r, int nData, int nInd) {
        int id = q.freeIds.poll();
        PagePool.Page[] pages = pool.take(nData + nInd); // data pages first, then indirect ones
        MemorySegment slot = q.ring.nextRequest();
        int handle = devid & 0xffff;
        switch (r.op) {
            case Blkif.OP_FLUSH_DISKCACHE -> new BlkifRequest().wrap(slot).set(r.op, 0, handle, id, 0);
            case Blkif.OP_DISCARD -> new BlkifRequestDiscard().wrap(slot).set(0, handle, id, r.sector, r.nsect);
            default -> {
                if (r.op == Blkif.OP_WRITE) pool.copyIn(r.buf, (int) r.off, r.nsect * Blkif.SECTOR_SIZE, pages);
                // Every data page is full but the last, which holds the remaining 1..8 sectors.
                int lastOfLast = (int) ((r.nsect - 1) % Blkif.SECTORS_PER_PAGE);
                if (nInd == 0) {
                    BlkifRequest req = new BlkifRequest().wrap(slot).set(r.op, nData, handle, id, r.sector);
                    for (int i = 0; i < nData; i++) {
                        req.setSegment(i, pages[i].ref(), 0, i == nData - 1 ? lastOfLast : Blkif.SECTORS_PER_PAGE - 1);
                    }
                } else {
                    BlkifRequestIndirect req = new BlkifRequestIndirect().wrap(slot).set(r.op, nData, id, r.sector, handle);
                    for (int p = 0; p < nInd; p++) {
                        PagePool.Page ind = pages[nData + p];
                        req.setIndirectGref(p, ind.ref());
                        // Descriptors are assembled in an array and stored with one bulk copy: 512 separate
                        // segment stores cost ~5% of a cross-process guest's event thread (C1 code).
                        int from = p * Blkif.SEGMENTS_PER_INDIRECT_PAGE;
                        int to = Math.min(nData, from + Blkif.SEGMENTS_PER_INDIRECT_PAGE);
                        for (int i = from; i < to; i++) {
                            descriptors[i - from] = BlkifSegment.word(pages[i].ref(), 0,
                                    i == nData - 1 ? lastOfLast : Blkif.SECTORS_PER_PAGE - 1);
                        }
                        MemorySegment.copy(descriptors, 0, ind.seg(), Blkif.U64, 0, to - from);
                    }
                }
            }
        }
        q.shadows[id] = new Shadow(r, pages, nData);
        inflight++;
        submitted++;
    }
}
