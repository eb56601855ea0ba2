package org.jxen.xenstored;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.locks.ReentrantLock;
import org.jxen.ring.RingNotifier;
import org.jxen.ring.XenStoreRingLayout;
import org.jxen.xenstore.XsChannel;
import org.jxen.xenstore.XsFrameDecoder;
import org.jxen.xenstore.XsMessage;

/**
 * The guest's end of a xenstore page for the daemon's tests, written on the ring layer alone
 * ({@link XenStoreRingLayout} and its two byte rings): requests go into the request ring, frames come out of the
 * response ring, and each side signals the other through a {@link RingNotifier}. Whoever waits for space or data
 * sleeps until the daemon's next notification ({@link #onNotify}); the daemon's error field fails every call.
 * Plain on purpose: a guest's real ring client is xenbus's, a layer above the daemon.
 */
final class RingGuestChannel implements XsChannel {
    private final XenStoreRingLayout ring;
    private final RingNotifier daemon;
    private final int domid;
    /** Whole frames into the request ring; held throughout a reconnection. */
    private final ReentrantLock sendLock = new ReentrantLock();
    /** The response ring's consumer side and the decoder; held throughout a reconnection. */
    private final ReentrantLock receiveLock = new ReentrantLock();
    private final XsFrameDecoder decoder = new XsFrameDecoder();
    private final ArrayDeque<XsMessage> received = new ArrayDeque<>();
    private final byte[] chunk = new byte[XenStoreRingLayout.XENSTORE_RING_SIZE];
    /** Counts notifications, so a waiter that saw count N sleeps only until one arrives after it looked. */
    private final Object signal = new Object();
    private long notifications;
    private volatile boolean closed;

    RingGuestChannel(MemorySegment page, RingNotifier daemon, int domid) {
        this.ring = new XenStoreRingLayout(page);
        this.daemon = daemon;
        this.domid = domid;
    }

    /** The daemon signalled the guest's event channel. */
    void onNotify() {
        synchronized (signal) {
            notifications++;
            signal.notifyAll();
        }
    }

    private long seen() {
        synchronized (signal) {
            return notifications;
        }
    }

    private void awaitNotification(long seen) throws IOException {
        synchronized (signal) {
            try {
                while (notifications == seen && !closed) signal.wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted waiting for xenstored");
            }
        }
        if (closed) throw new EOFException("ring channel closed");
    }

    private void checkError() throws IOException {
        if (closed) throw new EOFException("ring channel closed");
        int error = ring.error();
        if (error != XenStoreRingLayout.ERROR_NONE) {
            throw new IOException("ring error " + error + " (" + XenStoreRingLayout.errorName(error) + ")");
        }
    }

    @Override
    public void send(XsMessage message) throws IOException {
        byte[] frame = message.toBytes();
        sendLock.lock();
        try {
            int off = 0;
            while (off < frame.length) {
                long seen = seen();
                checkError();
                int n = ring.requests().write(frame, off, frame.length - off);
                if (n > 0) {
                    off += n;
                    daemon.notifyPeer();
                } else {
                    awaitNotification(seen);
                }
            }
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
                int n = ring.responses().read(chunk, 0, chunk.length);
                if (n > 0) {
                    daemon.notifyPeer(); // the daemon may be waiting for space
                    decoder.feed(ByteBuffer.wrap(chunk, 0, n), received::add);
                    continue;
                }
            } catch (XsFrameDecoder.FrameTooLargeException e) {
                throw new IOException("xenstored sent " + e.getMessage(), e);
            } finally {
                receiveLock.unlock();
            }
            awaitNotification(seen);
        }
    }

    /**
     * xenstore-ring.txt's reconnection from the guest's side: set the connection field to RECONNECT, signal, and
     * wait until the daemon has reset the page and set it back to CONNECTED. Nobody sends or reads meanwhile, and
     * whatever half frame was read before is dropped.
     */
    void reconnect() throws IOException {
        sendLock.lock();
        receiveLock.lock();
        try {
            ring.setConnection(XenStoreRingLayout.RECONNECT);
            daemon.notifyPeer();
            while (true) {
                long seen = seen();
                if (ring.connection() == XenStoreRingLayout.CONNECTED) break;
                awaitNotification(seen);
            }
            decoder.reset();
            received.clear();
        } finally {
            receiveLock.unlock();
            sendLock.unlock();
        }
    }

    @Override
    public int domid() {
        return domid;
    }

    @Override
    public void close() {
        closed = true;
        onNotify();
    }
}
