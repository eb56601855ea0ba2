package org.jxen.xenstored.transport;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jxen.xenstore.XsChannel;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsWire;
import org.jxen.xenstored.engine.Connection;
import org.jxen.xenstored.engine.ConnectionIo;
import org.jxen.xenstored.engine.XenStoreEngine;

/**
 * A connection made inside the daemon's JVM as any domain: the engine sees it like any other transport
 * (permissions, quotas and special-watch rules of that domain apply), the client gets an {@link XsChannel}.
 * Both directions are bounded queues, so a client that floods or never reads blocks itself, not the daemon.
 */
public final class InProcessConnection implements ConnectionIo {
    private static final int QUEUE = 256;
    private static final XsMessage EOF = new XsMessage(-1, 0, 0, new byte[0]);

    private final EventLoop loop;
    private final XenStoreEngine engine;
    private final int domid;
    private final BlockingQueue<XsMessage> toDaemon = new ArrayBlockingQueue<>(QUEUE);
    private final BlockingQueue<XsMessage> toClient = new ArrayBlockingQueue<>(QUEUE + 1);
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final AtomicBoolean pumpScheduled = new AtomicBoolean();
    private volatile boolean closed;
    /** The pump stopped because the client's queue was full; the client's next take restarts it. */
    private volatile boolean clientFull;
    private Connection conn;

    private InProcessConnection(EventLoop loop, XenStoreEngine engine, int domid) {
        this.loop = loop;
        this.engine = engine;
        this.domid = domid;
    }

    /** Opens a connection as {@code domid}; domain 0 is privileged, every other domain is not. */
    public static XsChannel open(EventLoop loop, XenStoreEngine engine, int domid) {
        InProcessConnection c = new InProcessConnection(loop, engine, domid);
        c.conn = loop.call(() -> engine.connect(c, domid, domid == 0, "inproc"));
        return c.new ClientEnd();
    }

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) loop.execute(this::drainRequests);
    }

    private void drainRequests() {
        drainScheduled.set(false);
        XsMessage m;
        while (engine.canAcceptInput(conn) && (m = toDaemon.poll()) != null) engine.handle(conn, m);
        pumpReplies();
    }

    private void pumpReplies() {
        pumpScheduled.set(false);
        if (engine.hasOutput(conn)) loop.outputBarrier();
        while (toClient.remainingCapacity() > 1 && engine.hasOutput(conn)) toClient.add(engine.nextOutput(conn));
        clientFull = engine.hasOutput(conn);
        // Replies taken off the engine may let it accept held requests again.
        if (!toDaemon.isEmpty() && engine.canAcceptInput(conn)) scheduleDrain();
    }

    @Override
    public void outputReady(Connection c) {
        if (pumpScheduled.compareAndSet(false, true)) loop.execute(this::pumpReplies);
    }

    @Override
    public void close(Connection c) {
        closed = true;
        toDaemon.clear();
        toClient.offer(EOF);
    }

    private final class ClientEnd implements XsChannel {
        @Override
        public void send(XsMessage message) throws IOException {
            if (closed) throw new EOFException("xenstored closed the connection");
            if (message.length() > XsWire.PAYLOAD_MAX) {
                // The daemon drops a connection that sends an oversized frame; so do we.
                close();
                throw new IOException("payload of " + message.length() + " bytes exceeds " + XsWire.PAYLOAD_MAX);
            }
            try {
                toDaemon.put(message);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException();
            }
            scheduleDrain();
        }

        /** The frames queued, then one drain of the loop for all of them (not a wake-up each). */
        @Override
        public void sendAll(java.util.List<XsMessage> messages) throws IOException {
            if (closed) throw new EOFException("xenstored closed the connection");
            for (XsMessage m : messages) {
                if (m.length() > XsWire.PAYLOAD_MAX) {
                    close();
                    throw new IOException("payload of " + m.length() + " bytes exceeds " + XsWire.PAYLOAD_MAX);
                }
            }
            try {
                for (XsMessage m : messages) {
                    if (!toDaemon.offer(m)) {
                        // Full: the loop must take some before the rest fit.
                        scheduleDrain();
                        toDaemon.put(m);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException();
            }
            scheduleDrain();
        }

        @Override
        public XsMessage receive() throws IOException {
            try {
                XsMessage m = toClient.take();
                if (m == EOF) {
                    toClient.offer(EOF);
                    throw new EOFException("xenstored closed the connection");
                }
                if (clientFull) outputReady(conn);
                return m;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException();
            }
        }

        @Override
        public int domid() {
            return domid;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            loop.execute(() -> engine.disconnect(conn));
            toClient.offer(EOF);
        }
    }
}
