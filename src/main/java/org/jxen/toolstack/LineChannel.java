package org.jxen.toolstack;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * Lines and byte blocks over a Unix socket, for the control protocol. It uses the SocketChannel directly rather
 * than Channels.newInputStream/newOutputStream: those take the channel's blocking lock, so a thread blocked
 * reading would stall another writing, which {@code xl console} needs (read for the client going away while
 * writing log lines).
 */
final class LineChannel implements Closeable {
    /** Longest request or reply line accepted (a console line is far shorter). */
    static final int MAX_LINE = 1 << 20;

    private final SocketChannel ch;
    private final ByteBuffer in = ByteBuffer.allocate(8192).flip();

    LineChannel(SocketChannel ch) {
        this.ch = ch;
    }

    /** The next line without its '\n', or null at end of stream before any byte of it. */
    String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            if (!in.hasRemaining() && !fill()) {
                if (line.size() == 0) return null;
                throw new EOFException("connection closed in the middle of a line");
            }
            byte b = in.get();
            if (b == '\n') return line.toString(StandardCharsets.UTF_8);
            if (line.size() == MAX_LINE) throw new IOException("line longer than " + MAX_LINE + " bytes");
            line.write(b);
        }
    }

    byte[] readExactly(int n) throws IOException {
        byte[] out = new byte[n];
        int done = 0;
        while (done < n) {
            if (!in.hasRemaining() && !fill()) throw new EOFException("connection closed after " + done + " of " + n + " bytes");
            int k = Math.min(in.remaining(), n - done);
            in.get(out, done, k);
            done += k;
        }
        return out;
    }

    /**
     * Some bytes, at most {@code len}: those buffered after the last line first, then what the socket has; -1 at
     * end of stream. For a connection that carries raw bytes after its request line (xl console).
     */
    int readSome(byte[] dst, int off, int len) throws IOException {
        if (!in.hasRemaining() && !fill()) return -1;
        int k = Math.min(in.remaining(), len);
        in.get(dst, off, k);
        return k;
    }

    private boolean fill() throws IOException {
        in.clear();
        int n = ch.read(in);
        in.flip();
        return n > 0;
    }

    void writeLine(String line) throws IOException {
        write((line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    void write(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) ch.write(b);
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
