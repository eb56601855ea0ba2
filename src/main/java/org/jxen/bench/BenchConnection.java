package org.jxen.bench;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsFrameDecoder;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.jxen.xenstore.XsWire;

/**
 * A raw xs_wire client connection over a blocking Unix socket, owned by one thread. Unlike libxenstore it
 * lets the caller choose req_ids and keep many requests in flight, which is what pipelining needs.
 */
final class BenchConnection implements Closeable {
    private final SocketChannel channel;
    private final ByteBuffer out = ByteBuffer.allocateDirect(XsWire.HEADER_SIZE + XsWire.PAYLOAD_MAX)
            .order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer in = ByteBuffer.allocateDirect(64 * 1024);
    private final XsFrameDecoder decoder = new XsFrameDecoder();
    private final ArrayDeque<XsMessage> received = new ArrayDeque<>();
    private final Consumer<XsMessage> sink = received::add;

    private BenchConnection(SocketChannel channel) {
        this.channel = channel;
    }

    static BenchConnection open(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot connect to " + socket + ": " + e.getMessage(), e);
        }
        return new BenchConnection(ch);
    }

    /** Sends {@code m} with the given req_id (the message's own req_id is ignored). One write for the frame. */
    void send(XsMessage m, int reqId) throws IOException {
        out.clear();
        out.putInt(m.type()).putInt(reqId).putInt(m.txId()).putInt(m.length()).put(m.payload());
        out.flip();
        while (out.hasRemaining()) channel.write(out);
    }

    /** The next frame from the daemon, replies and watch events alike. */
    XsMessage receive() throws IOException {
        while (received.isEmpty()) {
            in.clear();
            if (channel.read(in) < 0) throw new EOFException("xenstored closed the connection");
            in.flip();
            try {
                decoder.feed(in, sink);
            } catch (XsFrameDecoder.FrameTooLargeException e) {
                throw new IOException("xenstored sent an oversized frame: " + e.getMessage(), e);
            }
        }
        return received.poll();
    }

    /** One request, waiting for its reply (watch events in between are dropped); for setup and cleanup. */
    XsMessage call(XsType type, byte[] payload) throws IOException {
        send(XsMessage.of(type, 0, 0, payload), 0);
        while (true) {
            XsMessage m = receive();
            if (m.type() != XsType.WATCH_EVENT.code) return m;
        }
    }

    /** Like {@link #call} but an ERROR reply is an exception: setup must succeed for the numbers to mean anything. */
    XsMessage callOk(XsType type, byte[] payload) throws IOException {
        XsMessage reply = call(type, payload);
        if (reply.type() == XsType.ERROR.code) {
            throw new IOException(type + " \"" + Payloads.printable(payload) + "\" failed: "
                    + XsError.fromPayload(reply.payload()));
        }
        return reply;
    }

    /**
     * Sends requests {@code 0..count-1} with up to {@code window} in flight and checks that none failed; fast
     * bulk setup. Requests are made on demand so that a large setup does not hold them all in memory.
     */
    void callAllOk(int count, IntFunction<XsMessage> request, int window) throws IOException {
        XsMessage[] inFlight = new XsMessage[window];
        int sent = 0, done = 0;
        while (done < count) {
            while (sent < count && sent - done < window) {
                XsMessage m = request.apply(sent);
                inFlight[sent % window] = m;
                send(m, sent++);
            }
            XsMessage reply = receive();
            if (reply.type() == XsType.WATCH_EVENT.code) continue;
            if (reply.type() == XsType.ERROR.code) {
                XsMessage req = inFlight[Integer.remainderUnsigned(reply.reqId(), window)];
                throw new IOException(XsType.name(req.type()) + " \"" + req.payloadText() + "\" failed: "
                        + XsError.fromPayload(reply.payload()));
            }
            done++;
        }
    }

    /** As {@link #callAllOk}, but counts ERROR replies instead of failing on the first; for cleanup. */
    int callAll(int count, IntFunction<XsMessage> request, int window) throws IOException {
        int sent = 0, done = 0, errors = 0;
        while (done < count) {
            while (sent < count && sent - done < window) send(request.apply(sent), sent++);
            XsMessage reply = receive();
            if (reply.type() == XsType.WATCH_EVENT.code) continue;
            if (reply.type() == XsType.ERROR.code) errors++;
            done++;
        }
        return errors;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
