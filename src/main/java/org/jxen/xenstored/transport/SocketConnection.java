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
final class SocketConnection implements EventLoop.Handler, EventLoop.Flushable, ConnectionIo {
    private static final Logger LOG = System.getLogger("jxen.xenstored");

    private final EventLoop loop;
    private final XenStoreEngine engine;
    private final SocketChannel channel;
    private final SelectionKey key;
    private final Connection conn;
    private final XsFrameDecoder decoder = new XsFrameDecoder();
    /**
     * Output the kernel did not take (a peer that does not read), null when everything went. Replies are
     * gathered in the loop's one write buffer and written from there; only what is left over stays here. A
     * 64 KiB buffer of its own per connection was 4 MB of a 12 MB heap at 64 connections, and the full
     * collections that left no room for made every other allocation dear (the journal's most of all). Not
     * direct: a direct buffer per connection is native memory only a GC gives back, which piled up in malloc's
     * arenas with clients coming and going.
     */
    private ByteBuffer unsent;
    /** Frames decoded while the engine would not take more; bounded by one read buffer's worth. */
    private final ArrayDeque<XsMessage> held = new ArrayDeque<>();
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
            decoder.feed(in, held::add);
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
            if (unsent != null) {
                channel.write(unsent);
                if (!unsent.hasRemaining()) unsent = null;
            }
            if (unsent == null) writeOutput();
        } catch (IOException e) {
            failed(e);
            return;
        }
        boolean pending = unsent != null || engine.hasOutput(conn);
        if (key.isValid()) {
            int ops = key.interestOps();
            key.interestOps(pending ? ops | SelectionKey.OP_WRITE : ops & ~SelectionKey.OP_WRITE);
        }
        deliverHeld();
    }

    /** The engine's output for this peer, a write buffer at a time, until it is all gone or the kernel takes no more. */
    private void writeOutput() throws IOException {
        ByteBuffer out = loop.writeBuffer();
        try {
            while (true) {
                out.clear();
                XsMessage m;
                while (out.remaining() >= XsWire.HEADER_SIZE + XsWire.PAYLOAD_MAX && (m = engine.nextOutput(conn)) != null) {
                    m.writeTo(out);
                }
                out.flip();
                if (!out.hasRemaining()) return;
                channel.write(out);
                if (out.hasRemaining()) {
                    unsent = ByteBuffer.allocate(out.remaining()).put(out).flip();
                    return;
                }
            }
        } finally {
            out.clear();
        }
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
        key.cancel();
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing {0}: {1}", conn, e.toString());
        }
    }
}
