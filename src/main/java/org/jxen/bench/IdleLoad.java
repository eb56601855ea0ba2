package org.jxen.bench;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsType;
import org.jxen.xenstore.XsWire;

/**
 * Connections that stay open and say nothing while the bench measures one busy connection: {@code --idle N}
 * Unix-socket clients (each makes one request first, so the daemon has surely accepted it) and N guest rings
 * (introduced domains whose rings stay empty). Closing ends them all.
 */
final class IdleLoad implements AutoCloseable {
    /** Makes a daemon's idle guest rings: introduced domains nobody writes to. */
    interface Rings extends AutoCloseable {
        /** Introduces {@code n} domains; returns how many. An IOException says why the daemon cannot have them. */
        int open(int n) throws IOException;

        /** Releases them. */
        @Override
        void close() throws IOException;
    }

    /** No guest rings for this daemon, with the reason (shown in the report). */
    record NoRings(String why) implements Rings {
        @Override
        public int open(int n) throws IOException {
            throw new IOException(why);
        }

        @Override
        public void close() {
        }
    }

    private final List<SocketChannel> sockets = new ArrayList<>();
    private final Rings rings;
    private int ringCount;
    private String ringProblem;

    private IdleLoad(Rings rings) {
        this.rings = rings;
    }

    /** Opens {@code n} idle socket connections to {@code socket} and {@code n} idle rings from {@code rings}. */
    static IdleLoad open(Path socket, int n, Rings rings) throws IOException {
        IdleLoad load = new IdleLoad(rings);
        try {
            load.openSockets(socket, n);
            try {
                load.ringCount = rings.open(n);
            } catch (IOException e) {
                load.ringProblem = e.getMessage();
            }
            return load;
        } catch (IOException | RuntimeException e) {
            load.close();
            throw e;
        }
    }

    /** In batches: each connects and sends GET_DOMAIN_PATH 0, then the batch reads its replies. */
    private void openSockets(Path socket, int n) throws IOException {
        ByteBuffer request = request();
        ByteBuffer reply = ByteBuffer.allocate(XsWire.HEADER_SIZE + XsWire.PAYLOAD_MAX).order(ByteOrder.LITTLE_ENDIAN);
        final int batch = 256;
        for (int start = 0; start < n; start += batch) {
            List<SocketChannel> now = new ArrayList<>();
            for (int i = start; i < Math.min(n, start + batch); i++) {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                sockets.add(ch);
                try {
                    ch.connect(UnixDomainSocketAddress.of(socket));
                } catch (IOException e) {
                    throw new IOException("idle connection " + (i + 1) + " of " + n + " to " + socket + ": " + e.getMessage(), e);
                }
                request.rewind();
                while (request.hasRemaining()) ch.write(request);
                now.add(ch);
            }
            for (SocketChannel ch : now) readReply(ch, reply);
        }
    }

    private static ByteBuffer request() {
        byte[] p = Payloads.strings("0");
        ByteBuffer b = ByteBuffer.allocate(XsWire.HEADER_SIZE + p.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(XsType.GET_DOMAIN_PATH.code).putInt(1).putInt(0).putInt(p.length).put(p).flip();
        return b;
    }

    private static void readReply(SocketChannel ch, ByteBuffer reply) throws IOException {
        reply.clear().limit(XsWire.HEADER_SIZE);
        while (reply.hasRemaining()) {
            if (ch.read(reply) < 0) throw new IOException("the daemon closed an idle connection");
        }
        int type = reply.getInt(0), len = reply.getInt(12);
        if (len < 0 || len > XsWire.PAYLOAD_MAX) throw new IOException("bad reply length " + len);
        reply.limit(XsWire.HEADER_SIZE + len);
        while (reply.hasRemaining()) {
            if (ch.read(reply) < 0) throw new IOException("the daemon closed an idle connection");
        }
        if (type == XsType.ERROR.code) throw new IOException("GET_DOMAIN_PATH on an idle connection failed");
    }

    int sockets() {
        return sockets.size();
    }

    int rings() {
        return ringCount;
    }

    /** Why there are no rings, or null. */
    String ringProblem() {
        return ringProblem;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SocketChannel ch : sockets) {
            try {
                ch.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        sockets.clear();
        try {
            if (ringCount > 0) rings.close();
        } catch (IOException e) {
            if (first == null) first = e;
        }
        ringCount = 0;
        if (first != null) throw first;
    }
}
