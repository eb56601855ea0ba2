package org.jxen.xenstored.engine;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;

/**
 * The daemon's --trace: one line per request, reply and event, e.g.
 * {@code 2026-11-21T19:00:00.123Z IN    socket#3 dom0 READ req=1 tx=0 "/local/domain/0/name|"}.
 * Buffered, flushed whenever the event loop goes idle.
 */
public final class FileTracer implements Tracer, AutoCloseable {
    private final BufferedWriter out;
    private volatile boolean enabled = true;

    public FileTracer(Path file) throws IOException {
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    public void setEnabled(boolean on) {
        enabled = on;
    }

    @Override
    public void trace(Direction direction, Connection c, XsMessage m) {
        if (!enabled) return;
        try {
            out.write(Instant.now().toString());
            out.write(' ');
            out.write(String.format("%-5s", direction.name()));
            out.write(' ');
            out.write(c.label + "#" + c.id + " dom" + c.domid + ' ' + XsType.name(m.type()) + " req="
                    + Integer.toUnsignedString(m.reqId()) + " tx=" + Integer.toUnsignedString(m.txId()) + " \""
                    + m.payloadText() + "\"");
            out.newLine();
        } catch (IOException e) {
            enabled = false;
        }
    }

    @Override
    public void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            enabled = false;
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
