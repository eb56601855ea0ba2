package org.jxen.xenstored;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.jxen.xenstored.engine.EngineHarness;

/** A blocking client that writes and reads raw xs_wire bytes on a Unix socket, for transport tests. */
final class RawSocketClient implements AutoCloseable {
    private final SocketChannel ch;

    RawSocketClient(Path socket) throws IOException {
        ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
    }

    static byte[] header(int type, int reqId, int txId, int len) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(type).putInt(reqId).putInt(txId).putInt(len).array();
    }

    static byte[] frame(XsType type, int reqId, String payload) {
        return XsMessage.of(type, reqId, 0, EngineHarness.bytes(payload)).toBytes();
    }

    /**
     * A header announcing {@code len} bytes followed by {@code trailing} zero bytes, in one write: the daemon
     * may drop the connection as soon as it sees the header, so a second write could fail with EPIPE.
     */
    void writeHeaderAndJunk(int type, int len, int trailing) throws IOException {
        byte[] all = java.util.Arrays.copyOf(header(type, 2, 0, len), 16 + trailing);
        write(all);
    }

    void write(byte[] bytes) throws IOException {
        write(bytes, 0, bytes.length);
    }

    void write(byte[] bytes, int from, int to) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes, from, to - from);
        while (b.hasRemaining()) ch.write(b);
    }

    /** Reads exactly n bytes; null if the daemon closed the connection first. */
    private byte[] readFully(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            int r;
            try {
                r = ch.read(b);
            } catch (IOException e) {
                return null; // connection reset by the daemon
            }
            if (r < 0) return null;
        }
        return b.array();
    }

    /** The next frame, or null at end of stream. */
    XsMessage read() throws IOException {
        byte[] h = readFully(16);
        if (h == null) return null;
        ByteBuffer hb = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
        int type = hb.getInt(), reqId = hb.getInt(), txId = hb.getInt(), len = hb.getInt();
        assertThat(len).isBetween(0, 4096);
        byte[] payload = readFully(len);
        assertThat(payload).as("payload after header").isNotNull();
        return new XsMessage(type, reqId, txId, payload);
    }

    /** One request, one reply (no watch events expected in between). */
    XsMessage call(XsType type, int reqId, String payload) throws IOException {
        write(frame(type, reqId, payload));
        XsMessage reply = read();
        assertThat(reply).as("reply to %s", type).isNotNull();
        assertThat(reply.reqId()).isEqualTo(reqId);
        return reply;
    }

    /** True once the daemon has closed this connection (reads hit end of stream). */
    boolean droppedByDaemon() throws IOException {
        return readFully(1) == null;
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
