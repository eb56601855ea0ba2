package org.jxen.xenstored.transport;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import org.jxen.xenstore.XsFrameDecoder;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsWire;
import org.jxen.xenstored.engine.Connection;
import org.jxen.xenstored.engine.ConnectionIo;
import org.jxen.xenstored.engine.XenStoreEngine;

/**
 * One Unix-socket client (privileged, domain 0, as in Xen). Reads whatever arrived, decodes whole frames,
 * hands them to the engine while it accepts input, and otherwise stops reading: unread requests then wait in
 * the kernel's socket buffer, not in our memory. A frame announcing more than 4096 bytes drops the connection.
 */
final class SocketConnection extends EventLoop.Flushable implements EventLoop.Handler, ConnectionIo {
    private static final Logger LOG = System.getLogger("jxen.xenstored");

    private final EventLoop loop;
    private final XenStoreEngine engine;
    private final SocketChannel channel;
    private final SelectionKey key;
    private final Connection conn;
    private final XsFrameDecoder decoder = new XsFrameDecoder();
    /**
     * Output the kernel did not take, or null. Replies are encoded into the loop's one write buffer and written
     * from there; only what a full socket buffer leaves over is copied here, sized to fit. No buffer per
     * connection otherwise: an idle client costs the daemon a few hundred bytes of heap, not 64 KiB (a 12 MB heap
     * held fewer than 200 clients with one each).
     */
    private ByteBuffer pending;
    /** Frames decoded while the engine would not take more; bounded by one read buffer's worth. */
    private final ArrayDeque<XsMessage> held = new ArrayDeque<>(1);
    private final java.util.function.Consumer<XsMessage> hold = held::add;
    private boolean closed;

    SocketConnection(EventLoop loop, XenStoreEngine engine, SocketChannel channel) throws IOException {
        this.loop = loop;
        this.engine = engine;
        this.channel = channel;
        channel.configureBlocking(false);
        this.conn = engine.connect(this, 0, true, "socket");
        this.key = channel.register(loop.selector(), SelectionKey.OP_READ, this);
    }

    @Override
    public void ready(SelectionKey k) throws IOException {
        if (k.isWritable()) flush();
        if (!closed && k.isValid() && k.isReadable()) read();
    }

    private void read() throws IOException {
        // One read buffer for every connection: the loop is one thread and decodes all of it before returning.
        ByteBuffer in = loop.readBuffer();
        int n = channel.read(in);
        if (n < 0) {
            in.clear();
            shutdown();
            return;
        }
        in.flip();
        try {
            decoder.feed(in, hold);
        } catch (XsFrameDecoder.FrameTooLargeException e) {
            LOG.log(Level.WARNING, "{0}: {1}; dropping connection", conn, e.getMessage());
            shutdown();
            return;
        } finally {
            in.clear();
        }
        deliverHeld();
    }

    private void deliverHeld() {
        XsMessage m;
        while (!closed && engine.canAcceptInput(conn) && (m = held.poll()) != null) engine.handle(conn, m);
        if (!closed) setReading(held.isEmpty() && engine.canAcceptInput(conn));
    }

    private void setReading(boolean reading) {
        if (!key.isValid()) return;
        int ops = key.interestOps();
        int want = reading ? ops | SelectionKey.OP_READ : ops & ~SelectionKey.OP_READ;
        if (want != ops) key.interestOps(want);
    }

    @Override
    public void outputReady(Connection c) {
        loop.markDirty(this);
    }

    @Override
    public void flush() {
        if (closed) return;
        if (engine.hasOutput(conn)) loop.outputBarrier();
        try {
            if (pending != null) {
                channel.write(pending);
                if (pending.hasRemaining()) {
                    setWriting(true);
                    return;
                }
                pending = null;
            }
            // Everything queued in as few writes as the loop's buffer allows: one per round for a normal burst.
            ByteBuffer out = loop.writeBuffer();
            while (engine.hasOutput(conn)) {
                out.clear();
                XsMessage m;
                while (out.remaining() >= XsWire.HEADER_SIZE + XsWire.PAYLOAD_MAX && (m = engine.nextOutput(conn)) != null) {
                    m.writeTo(out);
                }
                out.flip();
                channel.write(out);
                if (out.hasRemaining()) {
                    pending = ByteBuffer.allocate(out.remaining());
                    pending.put(out).flip();
                    break;
                }
            }
            out.clear();
        } catch (IOException e) {
            failed(e);
            return;
        }
        setWriting(pending != null);
        deliverHeld();
    }

    private void setWriting(boolean writing) {
        if (!key.isValid()) return;
        int ops = key.interestOps();
        int want = writing ? ops | SelectionKey.OP_WRITE : ops & ~SelectionKey.OP_WRITE;
        if (want != ops) key.interestOps(want);
    }

    @Override
    public void failed(Exception e) {
        LOG.log(Level.DEBUG, "{0}: {1}", conn, e.toString());
        shutdown();
    }

    /** The peer went away or broke the protocol. */
    private void shutdown() {
        if (closed) return;
        engine.disconnect(conn);
        close(conn);
    }

    @Override
    public void close(Connection c) {
        if (closed) return;
        closed = true;
        held.clear();
        pending = null;
        key.cancel();
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing {0}: {1}", conn, e.toString());
        }
    }
}
