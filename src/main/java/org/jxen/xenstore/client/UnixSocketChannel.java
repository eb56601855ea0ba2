package org.jxen.xenstore.client;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.concurrent.locks.ReentrantLock;
import org.jxen.xenstore.XsChannel;
import org.jxen.xenstore.XsFrameDecoder;
import org.jxen.xenstore.XsMessage;

/**
 * A connection to xenstored's Unix socket (what libxenstore's xs_open uses in dom0). Every socket connection
 * is privileged and speaks for domain 0.
 */
public final class UnixSocketChannel implements XsChannel {
    private final SocketChannel socket;
    private final ReentrantLock sendLock = new ReentrantLock();
    private final XsFrameDecoder decoder = new XsFrameDecoder();
    private final ArrayDeque<XsMessage> received = new ArrayDeque<>();
    private final ByteBuffer readBuffer = ByteBuffer.allocate(8192);

    private UnixSocketChannel(SocketChannel socket) {
        this.socket = socket;
    }

    public static UnixSocketChannel connect(Path socketPath) throws IOException {
        SocketChannel s = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.connect(UnixDomainSocketAddress.of(socketPath));
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return new UnixSocketChannel(s);
    }

    /** Connects to the daemon {@link XsLocator} names. */
    public static UnixSocketChannel connect() throws IOException {
        return connect(XsLocator.socketPath());
    }

    @Override
    public void send(XsMessage message) throws IOException {
        ByteBuffer frame = ByteBuffer.wrap(message.toBytes());
        sendLock.lock();
        try {
            // One lock around the whole frame so that concurrent senders never interleave headers and payloads.
            while (frame.hasRemaining()) socket.write(frame);
        } finally {
            sendLock.unlock();
        }
    }

    /** The frames in one buffer, written under the lock: one write(2) where the kernel takes them all. */
    @Override
    public void sendAll(java.util.List<XsMessage> messages) throws IOException {
        int size = 0;
        for (XsMessage m : messages) size += m.frameSize();
        ByteBuffer frames = ByteBuffer.allocate(size).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (XsMessage m : messages) m.writeTo(frames);
        frames.flip();
        sendLock.lock();
        try {
            while (frames.hasRemaining()) socket.write(frames);
        } finally {
            sendLock.unlock();
        }
    }

    @Override
    public XsMessage receive() throws IOException {
        while (received.isEmpty()) {
            readBuffer.clear();
            if (socket.read(readBuffer) < 0) throw new EOFException("xenstored closed the connection");
            readBuffer.flip();
            try {
                decoder.feed(readBuffer, received::add);
            } catch (XsFrameDecoder.FrameTooLargeException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
        return received.poll();
    }

    @Override
    public int domid() {
        return 0;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
