package org.jxen.bench;

import java.io.Closeable;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import org.jxen.xenstore.XsWire;

/**
 * The floor under every xenstored number: a Unix-socket server that sends each xs_wire frame straight back
 * (read the 16-byte header, then its payload, write both). Same socket type, same blocking I/O and one
 * thread per connection, zero store work.
 */
final class EchoServer implements Closeable {
    private final ScratchDir dir;
    private final Path socket;
    private final ServerSocketChannel server;
    private final Thread acceptor;

    EchoServer() throws IOException {
        dir = ScratchDir.create("jxen-bench-echo");
        socket = dir.path().resolve("socket");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        acceptor = Thread.ofPlatform().daemon().name("bench-echo-accept").start(this::acceptLoop);
    }

    Path socketPath() {
        return socket;
    }

    private void acceptLoop() {
        try {
            while (true) {
                SocketChannel ch = server.accept();
                Thread.ofPlatform().daemon().name("bench-echo").start(() -> echo(ch));
            }
        } catch (IOException closed) {
            // close() closed the server socket: the accept loop ends.
        }
    }

    private static void echo(SocketChannel ch) {
        ByteBuffer frame = ByteBuffer.allocateDirect(XsWire.HEADER_SIZE + XsWire.PAYLOAD_MAX).order(ByteOrder.LITTLE_ENDIAN);
        try (ch) {
            while (true) {
                frame.clear().limit(XsWire.HEADER_SIZE);
                if (!readFully(ch, frame)) return;
                int len = frame.getInt(12);
                if (len < 0 || len > XsWire.PAYLOAD_MAX) return;
                frame.limit(XsWire.HEADER_SIZE + len);
                if (!readFully(ch, frame)) return;
                frame.flip();
                while (frame.hasRemaining()) ch.write(frame);
            }
        } catch (IOException gone) {
            // The client went away; nothing to clean up but the channel.
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
        try {
            acceptor.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        dir.close();
    }
}
