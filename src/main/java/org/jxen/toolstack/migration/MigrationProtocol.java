package org.jxen.toolstack.migration;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * xl's migration handshake (tools/xl/xl_migrate.c, xl.h), around the save stream, on one TCP connection:
 *
 * <pre>
 * target: "xl migration receiver ready, send binary domain data.\n"
 * source: the save image (SaveFormat), the domain suspended before its last pages
 * target: "domain received, ready to unpause\n"     its copy built, devices too, still paused
 *         or "ERROR " + reason + "\n"                it destroyed what it built; the source resumes
 * source: "domain is yours, you are cleared to unpause\n"   the point of no return
 * target: "my copy unpause results are as follows\n" + 1 byte (0: running)
 * </pre>
 * On 0 the source destroys its copy; on anything else the target destroyed its copy and the source resumes its
 * own (suspend cancelled). xl ends each message with a NUL-free newline too; jxen's ERROR line is its own.
 */
final class MigrationProtocol {
    static final String BANNER = "xl migration receiver ready, send binary domain data.";
    static final String READY = "domain received, ready to unpause";
    static final String GO = "domain is yours, you are cleared to unpause";
    static final String RESULT = "my copy unpause results are as follows";
    static final String ERROR = "ERROR ";
    /** Longest handshake line accepted. */
    private static final int MAX_LINE = 4096;

    private MigrationProtocol() {}

    static void send(OutputStream out, String line) throws IOException {
        out.write((line.replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** One line without its newline; IOException at EOF ("the other side closed the connection"). */
    static String read(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) throw new IOException("the other host closed the connection");
            if (c == '\n') return b.toString();
            if (b.length() >= MAX_LINE) throw new IOException("the other host sent a line longer than " + MAX_LINE + " bytes");
            b.append((char) c);
        }
    }

    /** Reads a line and checks it is {@code expected}; an ERROR line is the other side's reason. */
    static void expect(InputStream in, String expected) throws IOException {
        String l = read(in);
        if (l.equals(expected)) return;
        if (l.startsWith(ERROR)) throw new IOException(l.substring(ERROR.length()));
        throw new IOException("unexpected answer from the other host: \"" + l + "\" (expected \"" + expected + "\")");
    }
}
