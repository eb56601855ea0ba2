package org.jxen.bench;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;

/**
 * Answers every request with an OK reply of the request's type (or with {@code failWrites} for WRITE), except
 * what the bench needs to go on: a transaction id for TRANSACTION_START, and watch events for WATCH and for
 * writes under a watched path, sent to the watching connection.
 */
public final class FakeXenStored implements AutoCloseable {
    public final Path socket;
    final String failWrites;
    final ServerSocketChannel server;
    final Map<SocketChannel, String[]> watches = new ConcurrentHashMap<>();
    volatile int removedBench;

    public FakeXenStored(Path socket, String failWrites) throws IOException {
        this.socket = socket;
        this.failWrites = failWrites;
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread.ofPlatform().daemon().start(() -> {
            try {
                while (true) {
                    SocketChannel ch = server.accept();
                    Thread.ofPlatform().daemon().start(() -> serve(ch));
                }
            } catch (IOException closed) {
                // close() ends the accept loop.
            }
        });
    }

    private void serve(SocketChannel ch) {
        ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        try (ch) {
            while (true) {
                header.clear();
                if (!readFully(ch, header)) return;
                int type = header.getInt(0), reqId = header.getInt(4), txId = header.getInt(8);
                ByteBuffer payload = ByteBuffer.allocate(header.getInt(12));
                if (!readFully(ch, payload)) return;
                XsMessage request = new XsMessage(type, reqId, txId, payload.array());
                answer(ch, request);
            }
        } catch (IOException gone) {
            // Client closed.
        } finally {
            watches.remove(ch);
        }
    }

    private void answer(SocketChannel ch, XsMessage request) throws IOException {
        List<String> args = Payloads.split(request.payload());
        if (request.type() == XsType.WATCH.code) {
            watches.put(ch, new String[] {args.get(0), args.get(1)});
            send(ch, request.reply(Payloads.OK));
            send(ch, XsMessage.of(XsType.WATCH_EVENT, 0, 0, Payloads.strings(args.get(0), args.get(1))));
            return;
        }
        if (request.type() == XsType.WRITE.code && failWrites != null) {
            send(ch, new XsMessage(XsType.ERROR.code, request.reqId(), request.txId(), Payloads.strings(failWrites)));
            return;
        }
        if (request.type() == XsType.RM.code && args.getFirst().equals("/bench")) removedBench++;
        byte[] reply = request.type() == XsType.TRANSACTION_START.code ? Payloads.strings("1") : Payloads.OK;
        send(ch, request.reply(reply));
        if (request.type() == XsType.WRITE.code) {
            String path = args.getFirst();
            watches.forEach((watcher, w) -> {
                if (path.startsWith(w[0] + "/")) {
                    try {
                        send(watcher, XsMessage.of(XsType.WATCH_EVENT, 0, 0, Payloads.strings(path, w[1])));
                    } catch (IOException gone) {
                        // The watcher went away; its own thread cleans up.
                    }
                }
            });
        }
    }

    private static void send(SocketChannel ch, XsMessage m) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(m.toBytes());
        synchronized (ch) { // a watcher's events come from writers' threads
            while (b.hasRemaining()) ch.write(b);
        }
    }

    private static boolean readFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) return false;
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
