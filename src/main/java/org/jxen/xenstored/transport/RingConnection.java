package org.jxen.xenstored.transport;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jxen.xenstore.XsFrameDecoder;
import org.jxen.xenstore.XsMessage;
import org.jxen.ring.RingIndexException;
import org.jxen.ring.RingNotifier;
import org.jxen.ring.XenStoreRingLayout;
import org.jxen.xenstored.engine.Connection;
import org.jxen.xenstored.engine.ConnectionIo;
import org.jxen.xenstored.engine.XenStoreEngine;

/**
 * The daemon's end of a guest's shared xenstore page (xenstore-ring.txt). The guest is unprivileged and
 * speaks for its domid, so its permissions and quotas apply. All work happens on the event loop: an incoming
 * notification only posts {@link #service}.
 *
 * <p>The page is hostile memory (XSA-38): indices are re-read and validated on every pass, and a guest that
 * writes bogus indices or an oversized frame gets the error field set and is ignored from then on (its
 * watches, transactions and queued replies are dropped) until it asks for a reconnection. Nothing it writes
 * can make the daemon read outside the page or buffer without bound: requests are taken off the ring only
 * while the engine accepts input (the "outstanding" quota), so at most one ring's worth of decoded requests
 * and one partly written reply are held here.
 */
public final class RingConnection extends EventLoop.Flushable implements ConnectionIo {
    private static final Logger LOG = System.getLogger("jxen.xenstored");

    private final XenStoreEngine engine;
    private final EventLoop loop;
    private final int domid;
    private final XenStoreRingLayout ring;
    private final RingNotifier notifier;
    private final XsFrameDecoder decoder = new XsFrameDecoder();
    /** A request read off the ring and where in the ring it ends. */
    private record Held(XsMessage message, int end) {}

    /** Frames taken off the ring while the engine would not accept them: at most one ring's worth. */
    private final ArrayDeque<Held> held = new ArrayDeque<>();
    /**
     * Where in the request ring the requests handled and not yet answered end, in order. req_cons moves past a
     * request only once its reply is in the response ring, so the guest's page holds every request not yet
     * answered, and a daemon restarted after a crash reads them again (the journal's RING_REPLY answers those
     * it already applied).
     */
    private final ArrayDeque<Integer> unanswered = new ArrayDeque<>();
    /** How far requests were read (ahead of req_cons, which moves as they are answered). */
    private int readIdx;
    /** Where the next frame the decoder completes ends. */
    private int decodedEnd;
    /** What req_cons was last set to. */
    private int released;
    private final AtomicBoolean servicePosted = new AtomicBoolean();
    private Connection conn;
    /** The reply being copied into the response ring, and how much of it is already there. */
    private byte[] outFrame;
    private int outOffset;
    private boolean outIsReply;
    /** The guest broke the protocol: ignore it until it reconnects. */
    private boolean broken;
    private boolean closed;

    private RingConnection(XenStoreEngine engine, EventLoop loop, int domid, MemorySegment page, RingNotifier notifier) {
        this.engine = engine;
        this.loop = loop;
        this.domid = domid;
        this.ring = new XenStoreRingLayout(page);
        this.notifier = notifier;
    }

    /**
     * Connects the daemon to a guest's page as {@code domid}: advertises the server features and serves
     * whatever the guest already queued. Call from any thread; the connection exists when this returns.
     */
    public static RingConnection attach(XenStoreEngine engine, EventLoop loop, int domid, MemorySegment page,
            RingNotifier notifier) {
        RingConnection rc = new RingConnection(engine, loop, domid, page, notifier);
        loop.call(() -> {
            rc.readIdx = rc.ring.reqCons();
            rc.decodedEnd = rc.readIdx;
            rc.released = rc.readIdx;
            rc.conn = engine.connectGuestRing(rc, domid, rc.readIdx);
            rc.ring.setServerFeatures(engine.featuresOf(domid));
            // Replies a restarted daemon owes are written by the first flush; tell the guest to look.
            rc.notifier.notifyPeer();
            return null;
        });
        rc.notifyFromGuest();
        return rc;
    }

    public int domid() {
        return domid;
    }

    /** The guest signalled its event channel. Any thread; the work runs on the event loop. */
    public void notifyFromGuest() {
        if (servicePosted.compareAndSet(false, true)) loop.execute(this::service);
    }

    /** Detaches from the page (the host is unmapping it): forgets the connection's state. Any thread. */
    public void close() {
        loop.execute(() -> {
            if (closed) return;
            engine.disconnect(conn);
            close(conn);
        });
    }

    /** The engine's connection, for tests and tools (loop thread). */
    public Connection connection() {
        return conn;
    }

    private boolean hasFeature(int feature) {
        return (engine.featuresOf(domid) & feature) != 0;
    }

    private void service() {
        servicePosted.set(false);
        if (closed) return;
        if (ring.connection() == XenStoreRingLayout.RECONNECT && hasFeature(XenStoreRingLayout.FEATURE_RECONNECTION)) {
            reconnect();
            return;
        }
        if (broken) return;
        // Space the guest freed in the response ring first, then its new requests.
        flush();
    }

    @Override
    public void outputReady(Connection c) {
        loop.markDirty(this);
    }

    /** Writes queued replies as space allows, then takes requests while the engine accepts them. */
    @Override
    public void flush() {
        if (closed || broken) return;
        try {
            boolean kick = writeResponses();
            kick |= readRequests();
            // Replies to those requests are flushed when the engine marks us dirty again this round.
            if (kick) notifier.notifyPeer();
        } catch (RingIndexException e) {
            fail(XenStoreRingLayout.ERROR_RING_IDX, e.getMessage());
        } catch (XsFrameDecoder.FrameTooLargeException e) {
            fail(XenStoreRingLayout.ERROR_PROTO, e.getMessage());
        }
    }

    private boolean writeResponses() throws RingIndexException {
        boolean produced = false;
        int answered = -1;
        boolean anyAnswered = false;
        if (engine.hasOutput(conn) || outFrame != null) loop.outputBarrier();
        while (true) {
            if (outFrame == null) {
                XsMessage m = engine.nextOutput(conn);
                if (m == null) break;
                outFrame = m.toBytes();
                outOffset = 0;
                outIsReply = m.type() != org.jxen.xenstore.XsType.WATCH_EVENT.code;
            }
            int left = outFrame.length - outOffset;
            // A frame that fits the ring goes in whole (one rsp_prod update), so a daemon that dies never leaves
            // half a frame for its successor to follow with a whole one.
            if (outOffset == 0 && outFrame.length <= ring.responses().size() && ring.responses().free() < outFrame.length) break;
            int n = ring.responses().write(outFrame, outOffset, left);
            if (n == 0) break;
            produced = true;
            outOffset += n;
            if (outOffset == outFrame.length) {
                outFrame = null;
                if (outIsReply && !unanswered.isEmpty()) {
                    answered = unanswered.poll();
                    anyAnswered = true;
                }
            }
        }
        if (anyAnswered) releaseTo(answered);
        // Validate even when there was nothing to write: a bogus rsp_cons is an error whenever it appears.
        if (!produced) ring.responses().used();
        return produced;
    }

    /** Moves req_cons forward (never back) to {@code cons}. */
    private void releaseTo(int cons) {
        if (cons - released <= 0) return;
        ring.requests().release(cons);
        released = cons;
        engine.published(conn, cons);
    }

    private boolean readRequests() throws RingIndexException, XsFrameDecoder.FrameTooLargeException {
        boolean consumed = false;
        // The loop's array, not one per ring: ten thousand idle guests would hold 10 MB of them.
        byte[] chunk = loop.scratch();
        while (true) {
            deliverHeld();
            if (closed || broken || !held.isEmpty() || !engine.canAcceptInput(conn)) break;
            int n = ring.requests().peek(readIdx, chunk, 0, Math.min(chunk.length, XenStoreRingLayout.XENSTORE_RING_SIZE));
            if (n == 0) break;
            readIdx += n;
            consumed = true;
            decoder.feed(ByteBuffer.wrap(chunk, 0, n), m -> {
                decodedEnd += m.frameSize();
                held.add(new Held(m, decodedEnd));
            });
        }
        if (!consumed) ring.requests().used();
        // A request longer than the free ring cannot wait for its reply to be freed: the guest needs the room
        // to finish writing it. Such a request is the one thing a crash at that moment can lose.
        if (decoder.partial() && ring.requests().free() == 0) {
            releaseTo(readIdx);
            consumed = true;
        }
        return consumed;
    }

    private void deliverHeld() {
        Held h;
        while (!closed && !broken && engine.canAcceptInput(conn) && (h = held.poll()) != null) {
            conn.setRequestEnd(h.end());
            unanswered.add(h.end());
            engine.handle(conn, h.message());
        }
    }

    /** XSA-38 and protocol errors: tell the guest (if it understands the error field) and stop serving it. */
    private void fail(int error, String why) {
        LOG.log(Level.WARNING, "{0}: {1}; ignoring the ring until the guest reconnects", conn, why);
        broken = true;
        dropState();
        engine.disconnect(conn);
        if (hasFeature(XenStoreRingLayout.FEATURE_ERROR)) {
            ring.setError(error);
            notifier.notifyPeer();
        }
    }

    /**
     * xenstore-ring.txt reconnection: drop partial packets, queued replies, watches and transactions (a new
     * engine connection; the new one is made first so the domain's record and quota overrides survive),
     * reset the indices, clear the error, then report CONNECTED and signal.
     */
    private void reconnect() {
        Connection old = conn;
        conn = engine.connectGuestRing(this, domid, 0);
        engine.disconnect(old);
        dropState();
        broken = false;
        ring.resetIndices();
        readIdx = 0;
        decodedEnd = 0;
        released = 0;
        ring.setError(XenStoreRingLayout.ERROR_NONE);
        ring.setServerFeatures(engine.featuresOf(domid));
        // Last, with release semantics: the guest sees the reset indices once it sees CONNECTED.
        ring.setConnection(XenStoreRingLayout.CONNECTED);
        notifier.notifyPeer();
    }

    private void dropState() {
        decoder.reset();
        held.clear();
        unanswered.clear();
        outFrame = null;
        outOffset = 0;
    }

    /** The engine closed us (domain released), or the host detached. */
    @Override
    public void close(Connection c) {
        if (closed || c != conn) return;
        closed = true;
        dropState();
    }
}
