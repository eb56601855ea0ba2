package org.jxen.drivers.blk.front;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import org.jxen.drivers.blk.Blkif;
import org.jxen.hypervisor.HypercallException;
import org.jxen.drivers.blk.Vdev;
import org.jxen.kernel.Disk;
import org.jxen.xenbus.XenbusDevice;

/**
 * A virtual block device as guest code sees it (Linux's xen-blkfront gendisk): asynchronous {@link #read},
 * {@link #write}, {@link #flush} and {@link #discard} returning CompletableFutures, plus the disk's size,
 * sector size and read-only flag. Sectors are 512 bytes. blkfront adds it to the kernel's {@link
 * org.jxen.kernel.Disks} once it is connected.
 *
 * <p>Requests go through the device's {@link RequestQueue} onto its rings; {@link #queueDepth()} is how many can
 * be on the rings at once. The data is copied into pages of a pool ({@link PagePool}) granted to the backend at
 * connect, so no guest page outside the pool is ever shared; with feature-persistent (both ends offer it) the
 * backend keeps those pages mapped instead of mapping each grant per request. A request longer than 11
 * segments goes as an indirect request when the backend offers feature-max-indirect-segments, and a request
 * longer than what one ring request can carry is split.
 *
 * <p>Futures complete on this device's own completion thread, never on the event thread. The {@link Disk.EndIo}
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
public final class BlockFront implements Disk {
    private final String name;
    private final int devid;
    private final int minor;
    private final ExecutorService completions;
    private final RequestQueue requests;
    private final CompletableFuture<BlockFront> connected = new CompletableFuture<>();

    BlockFront(XenbusDevice dev, Vdev.GuestName guestName, int devid, BlkFront.Params params) {
        String name = guestName.name();
        this.name = name;
        this.minor = guestName.minor();
        this.devid = devid;
        this.completions = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "blkfront-" + name + "-" + dev.xenbus().domid());
            t.setDaemon(true);
            return t;
        });
        this.requests = new RequestQueue(dev, name, devid, params, completions);
    }

    // ---------------------------------------------------------------- what the disk is

    @Override
    public String name() {
        return name;
    }

    @Override
    public int minor() {
        return minor;
    }

    public int devid() {
        return devid;
    }

    /** Completes when the device is first Connected; fails if it is removed before. */
    public CompletableFuture<BlockFront> whenConnected() {
        return connected;
    }

    public boolean isConnected() {
        return requests.isConnected();
    }

    @Override
    public long sectors() {
        return requests.features().sectors();
    }

    public long sizeBytes() {
        return sectors() * Blkif.SECTOR_SIZE;
    }

    /** The backend's sector-size (the unit of the disk; the protocol's unit is always 512). */
    @Override
    public int sectorSize() {
        return requests.features().sectorSize();
    }

    @Override
    public boolean readOnly() {
        return requests.features().readOnly();
    }

    /** Whether the backend offered feature-flush-cache and has not failed a flush since. */
    @Override
    public boolean flushSupported() {
        return requests.flushSupported();
    }

    @Override
    public boolean discardSupported() {
        return requests.discardSupported();
    }

    @Override
    public int queues() {
        return requests.queues();
    }

    /** Requests the rings hold at once (all queues); more wait in the software queue. */
    @Override
    public int queueDepth() {
        return requests.queueDepth();
    }

    /** Whether both ends offered feature-persistent: the backend keeps the pool's grants mapped. */
    public boolean persistentGrants() {
        return requests.features().persistent();
    }

    /** Segments one ring request carries: 11, or the negotiated indirect maximum. */
    public int segmentsPerRequest() {
        return requests.features().segmentsPerRequest();
    }

    /** Ring requests sent so far (a split request counts once per part). */
    public long requestsSubmitted() {
        return requests.submitted();
    }

    /** Responses ignored because their id was not in flight. */
    public long ignoredResponses() {
        return requests.ignoredResponses();
    }

    /**
     * Ring requests that were still in flight when the backend went away while staying online, and were put
     * back in the queue to be sent again after the reconnect (a split request counts once per part).
     */
    public long requeuedRequests() {
        return requests.requeued();
    }

    // ---------------------------------------------------------------- I/O

    /** Reads {@code count} sectors from {@code sector}. */
    public CompletableFuture<byte[]> read(long sector, int count) {
        if (count <= 0) return CompletableFuture.failedFuture(new IllegalArgumentException("count " + count));
        byte[] buf = new byte[Math.multiplyExact(count, Blkif.SECTOR_SIZE)];
        return read(sector, buf, 0, buf.length).thenApply(v -> buf);
    }

    @Override
    public CompletableFuture<Void> read(long sector, byte[] buf, int off, int len) {
        return submitRw(Blkif.OP_READ, sector, buf, off, len);
    }

    /**
     * Reads {@code count} sectors from {@code sector} without copying them out of the shared pages: the data is
     * handed to {@code reader} and the future completes after the reader returned. The reader is called once per
     * run of consecutive guest frames with the run's byte offset within the read; the runs of one ring request
     * come in disk order, while a read longer than one request ({@link #segmentsPerRequest()} pages) is split and
     * its parts may arrive in any order. The view is valid only during the call (the pages go back to the pool
     * afterwards). Calls come from the device's completion thread, one at a time; an exception fails the read
     * with it.
     */
    @Override
    public CompletableFuture<Void> readShared(long sector, int count, SectorReader reader) {
        if (count <= 0) return CompletableFuture.failedFuture(new IllegalArgumentException("count " + count));
        if (reader == null) throw new NullPointerException("reader");
        return submit(Request.shared(sector, count, reader));
    }

    /**
     * {@link #read(long, byte[], int, int)} that ends with {@code endIo} instead of a future. {@code endIo} is
     * called once: {@code failure} is null on success, else the {@link BlockIOException} (or
     * IllegalArgumentException for a bad request) it failed with. It runs on the thread that ends the request —
     * the device's event thread for a backend response, with the device's lock held, like an interrupt handler;
     * the thread that disconnects or removes the device for requests failed then; the caller's own thread for a
     * request refused at once. So it must not block or wait for other requests; it may submit new ones (they go
     * onto the ring in the same pass). What it throws is logged and dropped.
     */
    @Override
    public void read(long sector, byte[] buf, int off, int len, EndIo endIo) {
        submitRw(Blkif.OP_READ, sector, buf, off, len, endIo);
    }

    /** {@link #write(long, byte[], int, int)} that ends with {@code endIo} as {@link #read(long, byte[], int, int, EndIo)}. */
    @Override
    public void write(long sector, byte[] buf, int off, int len, EndIo endIo) {
        submitRw(Blkif.OP_WRITE, sector, buf, off, len, endIo);
    }

    /** Writes {@code data} (whole sectors) at {@code sector}. */
    public CompletableFuture<Void> write(long sector, byte[] data) {
        return write(sector, data, 0, data.length);
    }

    @Override
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
    @Override
    public CompletableFuture<Void> flush() {
        return submit(Request.flush());
    }

    /**
     * BLKIF_OP_DISCARD of {@code count} sectors (the backend punches a hole). Without the backend's feature-discard
     * it fails at once with EOPNOTSUPP and nothing is sent.
     */
    @Override
    public CompletableFuture<Void> discard(long sector, long count) {
        if (count <= 0) return CompletableFuture.failedFuture(new IllegalArgumentException("count " + count));
        return submit(Request.discard(sector, count));
    }

    /** A read or write whose future's continuations run on the completion thread. */
    private CompletableFuture<Void> submitRw(int op, long sector, byte[] buf, int off, int len) {
        CompletableFuture<Void> bad = badLength(buf, off, len);
        return bad != null ? bad : submit(Request.rw(op, sector, buf, off, len));
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
        Request r = Request.rw(op, sector, buf, off, len);
        endIo(r.done, endIo);
        requests.submit(r);
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
                endIo.ended(RequestQueue.cause(e));
            } catch (Throwable t) { // the caller's code: it must not take the event thread down with it
                requests.log("end_io callback threw " + t);
            }
        });
    }

    private CompletableFuture<Void> submit(Request r) {
        requests.submit(r);
        // Callers' continuations run on our completion thread, never under our lock or on the event thread.
        return r.done.thenApplyAsync(v -> v, this::onCompletionThread);
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

    // ---------------------------------------------------------------- life cycle, driven by BlkfrontDriver

    /** talk_to_blkback. */
    void setUp(Negotiation.Rings rings) throws IOException, HypercallException {
        requests.setUp(rings);
    }

    /** blkfront_connect. */
    void connect(Negotiation.Features features) {
        requests.connect(features);
        connected.complete(this);
    }

    /** blkfront_resume: the rings go, requests in flight wait for the new backend (see RequestQueue#suspend). */
    void resumeInNewDomain() {
        requests.suspend();
    }

    /** set_capacity after a resize: requests are checked against the new size from now on; true if it changed. */
    boolean resize(long sectors) {
        return requests.resize(sectors);
    }

    boolean connectedSinceSetUp() {
        return requests.connectedSinceSetUp();
    }

    void disconnect(boolean requeue) {
        requests.disconnect(requeue);
    }

    /** The device is gone (removed, or the driver unloads): fail whatever is left. */
    void remove() {
        if (!requests.remove()) return;
        connected.completeExceptionally(new BlockIOException((short) 0, name + " removed"));
        completions.shutdown();
    }
}
