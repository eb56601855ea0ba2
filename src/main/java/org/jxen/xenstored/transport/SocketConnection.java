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
    private static final int BUFFER = 64 * 1024;

    private final EventLoop loop;
    private final XenStoreEngine engine;
    private final SocketChannel channel;
    private final SelectionKey key;
    private final Connection conn;
    private final XsFrameDecoder decoder = new XsFrameDecoder();
    /**
     * Output not yet taken by the kernel. On the Java heap, not direct: a direct buffer per connection is
     * native memory that only a GC gives back, and with clients coming and going (xenstore-utils connect per
     * command) it piled up in malloc's arenas (the daemon's resident size grew without bound). The JDK copies
     * a heap buffer through its per-thread cached direct buffer on write, one copy of what a syscall moves.
     */
    private final ByteBuffer out = ByteBuffer.allocate(BUFFER);
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
        out.flip();
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
            while (true) {
                if (!out.hasRemaining()) {
                    out.clear();
                    XsMessage m;
                    while (out.remaining() >= XsWire.HEADER_SIZE + XsWire.PAYLOAD_MAX
                            && (m = engine.nextOutput(conn)) != null) {
                        m.writeTo(out);
                    }
                    out.flip();
                    if (!out.hasRemaining()) break;
                }
                if (channel.write(out) == 0) break;
            }
        } catch (IOException e) {
            failed(e);
            return;
        }
        boolean pending = out.hasRemaining() || engine.hasOutput(conn);
        if (key.isValid()) {
            int ops = key.interestOps();
            key.interestOps(pending ? ops | SelectionKey.OP_WRITE : ops & ~SelectionKey.OP_WRITE);
        }
        deliverHeld();
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
