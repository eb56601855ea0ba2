package org.jxen.xenbus;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jxen.xenstore.XsChannel;
import org.jxen.xenstore.XsFrameDecoder;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsWire;
import org.jxen.ring.RingNotifier;
import org.jxen.ring.XenStoreRingLayout;

/**
 * A guest's xenstore connection over its shared page (what Linux's xenbus does): requests go into the
 * request ring, replies and watch events come out of the response ring, and each side signals the other
 * through the event channel. The guest's event handler calls {@link #onNotify}; senders waiting for ring
 * space and the reader waiting for data block on a condition until the next notification (no spinning).
 * The error field, when the daemon sets it, fails every call with an {@link IOException} naming it.
 *
 * <p>With {@link #push} the event handler itself takes the replies and watch events out of the response ring
 * and hands them to the client, as Linux's xenbus interrupt handler does; without it a reader thread calls
 * {@link #receive}. Pushing saves a thread wake-up per message, which is most of a message's cost when a
 * thousand guests are handshaking at once.
 */
public final class XsRingChannel implements XsChannel {
    private final XenStoreRingLayout ring;
    private final RingNotifier notifier;
    private final int domid;
    /** Serializes whole frames into the request ring; held throughout a reconnection. */
    private final ReentrantLock sendLock = new ReentrantLock();
    /** Guards the decoder and the response ring's consumer side; held while a reconnection is requested. */
    private final ReentrantLock receiveLock = new ReentrantLock();
    private final XsFrameDecoder decoder = new XsFrameDecoder();
    private final ArrayDeque<XsMessage> received = new ArrayDeque<>();
    private final byte[] chunk = new byte[XenStoreRingLayout.XENSTORE_RING_SIZE];
    /** Counts notifications, so a waiter that saw count N sleeps only until one arrives after it looked. */
    private final java.util.concurrent.atomic.AtomicLong notifications = new java.util.concurrent.atomic.AtomicLong();
    /**
     * Threads in {@link #awaitNotification}: a notification takes the lock only when there is one (a sender
     * waiting for room, or a reader without push). The event thread counts every notification, and with push
     * nobody normally waits, so the common notification is one atomic increment.
     */
    private final java.util.concurrent.atomic.AtomicInteger waiting = new java.util.concurrent.atomic.AtomicInteger();
    private final ReentrantLock signalLock = new ReentrantLock();
    private final Condition signalled = signalLock.newCondition();
    private volatile boolean closed;
    private volatile IOException failure;
    /** Set while {@link #reconnect} waits for the daemon to reset the indices: nobody consumes meanwhile. */
    private boolean reconnecting;
    private volatile Receiver pushTo;
    /** Guarded by receiveLock: the receiver has been told the channel ended. */
    private boolean pushEnded;

    /** A channel over the mapped page; {@code notifier} signals the daemon, {@code domid} is who we are. */
    public XsRingChannel(MemorySegment page, RingNotifier notifier, int domid) {
        this.ring = new XenStoreRingLayout(page);
        this.notifier = notifier;
        this.domid = domid;
    }

    /**
     * The event channel fired: wake whoever waits for data or space and, when pushing, deliver what arrived.
     * Any thread; never blocks for long.
     */
    public void onNotify() {
        notifications.incrementAndGet();
        // Either a waiter registered before this read and is signalled, or it registers after the increment and
        // sees the new count before it sleeps (both are sequentially consistent atomics).
        if (waiting.get() > 0) {
            signalLock.lock();
            try {
                signalled.signalAll();
            } finally {
                signalLock.unlock();
            }
        }
        if (pushTo != null) drain();
    }

    @Override
    public boolean push(Receiver receiver) {
        pushTo = receiver;
        drain();
        return true;
    }

    /** Hands every complete frame in the response ring to the receiver, then reports an error or close. */
    private void drain() {
        Receiver receiver = pushTo;
        receiveLock.lock();
        try {
            if (pushEnded || reconnecting) return;
            IOException ended = null;
            try {
                while (ring.connection() == XenStoreRingLayout.CONNECTED && consume()) {
                    // consume() fed the decoder; keep going while the daemon keeps writing.
                }
            } catch (IOException e) {
                ended = e;
            }
            for (XsMessage m; (m = received.poll()) != null; ) receiver.onMessage(m);
            if (ended == null) {
                try {
                    checkError();
                } catch (IOException e) {
                    ended = e;
                }
            }
            if (ended != null) {
                pushEnded = true;
                receiver.onClosed(ended);
            }
        } finally {
            receiveLock.unlock();
        }
    }

    private long seen() {
        return notifications.get();
    }

    /** Blocks until a notification newer than {@code seen} (or close). */
    private void awaitNotification(long seen) throws IOException {
        waiting.incrementAndGet();
        signalLock.lock();
        try {
            while (notifications.get() == seen && !closed) signalled.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for xenstored");
        } finally {
            signalLock.unlock();
            waiting.decrementAndGet();
        }
        if (closed) throw closedException();
    }

    private void checkError() throws IOException {
        if (closed) throw closedException();
        int error = ring.error();
        if (error != XenStoreRingLayout.ERROR_NONE) {
            throw new IOException("xenstored reported ring error " + error + " (" + XenStoreRingLayout.errorName(error)
                    + "); the connection needs reconnect()");
        }
    }

    @Override
    public void send(XsMessage message) throws IOException {
        sendAll(java.util.List.of(message));
    }

    /** The frames into the request ring one after another, and one notification (more only if the ring fills). */
    @Override
    public void sendAll(java.util.List<XsMessage> messages) throws IOException {
        byte[][] frames = new byte[messages.size()][];
        for (int i = 0; i < frames.length; i++) {
            XsMessage message = messages.get(i);
            if (message.length() > XsWire.PAYLOAD_MAX) {
                // The daemon would mark the ring broken (error PROTO); refuse locally instead.
                throw new IOException("payload of " + message.length() + " bytes exceeds " + XsWire.PAYLOAD_MAX);
            }
            frames[i] = message.toBytes();
        }
        sendLock.lock();
        try {
            boolean unannounced = false;
            for (byte[] frame : frames) {
                int off = 0;
                while (off < frame.length) {
                    long seen = seen();
                    checkError();
                    int n = ring.requests().write(frame, off, frame.length - off);
                    if (n > 0) {
                        off += n;
                        unannounced = true;
                    } else {
                        // Full: the daemon must hear of what is there before it makes room.
                        if (unannounced) notifier.notifyPeer();
                        unannounced = false;
                        awaitNotification(seen);
                    }
                }
            }
            if (unannounced) notifier.notifyPeer();
        } finally {
            sendLock.unlock();
        }
    }

    @Override
    public XsMessage receive() throws IOException {
        while (true) {
            long seen = seen();
            receiveLock.lock();
            try {
                if (!received.isEmpty()) return received.poll();
                checkError();
                // While a reconnection is under way the daemon rewrites the indices: leave them alone.
                if (!reconnecting && ring.connection() == XenStoreRingLayout.CONNECTED && consume()) continue;
            } finally {
                receiveLock.unlock();
            }
            awaitNotification(seen);
        }
    }

    /** Takes what the response ring holds into the decoder; true if anything was there. */
    private boolean consume() throws IOException {
        int n = ring.responses().read(chunk, 0, chunk.length);
        if (n == 0) return false;
        // The daemon may be waiting for space to write the rest of a reply.
        notifier.notifyPeer();
        try {
            decoder.feed(ByteBuffer.wrap(chunk, 0, n), received::add);
        } catch (XsFrameDecoder.FrameTooLargeException e) {
            throw new IOException("xenstored sent " + e.getMessage(), e);
        }
        return true;
    }

    /**
     * Asks the daemon to reset the connection (xenstore-ring.txt): it drops partial packets, queued replies,
     * this connection's watches and transactions, and clears the error field. Requests in flight get no
     * reply; callers must not have any outstanding. Fails if the daemon does not offer reconnection.
     */
    public void reconnect() throws IOException {
        if ((ring.serverFeatures() & XenStoreRingLayout.FEATURE_RECONNECTION) == 0) {
            throw new IOException("xenstored does not offer ring reconnection");
        }
        sendLock.lock();
        try {
            receiveLock.lock();
            try {
                reconnecting = true;
            } finally {
                receiveLock.unlock();
            }
            try {
                ring.setConnection(XenStoreRingLayout.RECONNECT);
                notifier.notifyPeer();
                while (true) {
                    long seen = seen();
                    if (ring.connection() == XenStoreRingLayout.CONNECTED) break;
                    awaitNotification(seen);
                }
            } finally {
                receiveLock.lock();
                try {
                    decoder.reset();
                    received.clear();
                    reconnecting = false;
                } finally {
                    receiveLock.unlock();
                }
            }
        } finally {
            sendLock.unlock();
        }
        if (pushTo != null) drain();
    }

    /** The server_features field: which of reconnection (1) and the error field (2) the daemon offers. */
    public int serverFeatures() {
        return ring.serverFeatures();
    }

    @Override
    public int domid() {
        return domid;
    }

    /** Stops using the page; blocked senders and the reader get an {@link EOFException}. */
    @Override
    public void close() {
        closed = true;
        onNotify();
    }

    /**
     * The daemon cannot be told about requests any more (the notify hypercall failed for a reason other than
     * teardown): every caller, blocked or next, gets {@code why} instead of waiting for an answer never coming.
     */
    public void fail(IOException why) {
        failure = why;
        close();
    }

    private IOException closedException() {
        IOException why = failure;
        return why == null ? new EOFException("xenstore ring channel closed") : new IOException(why.getMessage(), why);
    }
}
