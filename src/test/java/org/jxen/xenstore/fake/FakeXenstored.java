package org.jxen.xenstore.fake;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jxen.xenstore.XsFrameDecoder;
import org.jxen.xenstore.XsMessage;

/** A scriptable daemon on a real Unix socket: each connection's frames go to the handler on its own thread. */
public final class FakeXenstored implements AutoCloseable {
    /** Answers one request; may send any number of frames (or none) on the connection. */
    @FunctionalInterface
    public interface Handler {
        void handle(Conn conn, XsMessage request) throws IOException;
    }

    public static final class Conn {
        private final SocketChannel socket;

        Conn(SocketChannel socket) {
            this.socket = socket;
        }

        public synchronized void send(XsMessage m) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(m.toBytes());
            while (b.hasRemaining()) socket.write(b);
        }

        /** Writes bytes as they are: lets a test split frames anywhere. */
        public synchronized void sendRaw(byte[] bytes) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) socket.write(b);
        }

        public void close() throws IOException {
            socket.close();
        }
    }

    private final Path socketPath;
    private final ServerSocketChannel server;
    private final Handler handler;
    private final List<SocketChannel> clients = new CopyOnWriteArrayList<>();
    /** Every request received, in order, for assertions on what clients sent. */
    public final List<XsMessage> received = new CopyOnWriteArrayList<>();

    public FakeXenstored(Path dir, Handler handler) throws IOException {
        this.socketPath = dir.resolve("socket");
        Files.deleteIfExists(socketPath);
        this.handler = handler;
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socketPath));
        Thread t = new Thread(this::acceptLoop, "fake-xenstored");
        t.setDaemon(true);
        t.start();
    }

    public Path socketPath() {
        return socketPath;
    }

    private void acceptLoop() {
        try {
            while (true) {
                SocketChannel s = server.accept();
                clients.add(s);
                Thread t = new Thread(() -> serve(s), "fake-xenstored-conn");
                t.setDaemon(true);
                t.start();
            }
        } catch (IOException closed) {
            // server closed
        }
    }

    private void serve(SocketChannel s) {
        Conn conn = new Conn(s);
        XsFrameDecoder decoder = new XsFrameDecoder();
        ByteBuffer buf = ByteBuffer.allocate(8192);
        try {
            while (s.read(buf.clear()) >= 0) {
                buf.flip();
                List<XsMessage> frames = new java.util.ArrayList<>();
                decoder.feed(buf, frames::add);
                for (XsMessage m : frames) {
                    received.add(m);
                    handler.handle(conn, m);
                }
            }
        } catch (IOException | XsFrameDecoder.FrameTooLargeException e) {
            // client gone
        } finally {
            try {
                s.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }

    /** Drops every client connection (they see EOF) but keeps accepting. */
    public void disconnectAll() throws IOException {
        for (SocketChannel s : clients) s.close();
    }

    @Override
    public void close() throws IOException {
        server.close();
        disconnectAll();
        Files.deleteIfExists(socketPath);
    }
}
