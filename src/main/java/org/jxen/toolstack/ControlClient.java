package org.jxen.toolstack;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** The xl side of the control protocol ({@link ControlServer}): one request per connection. */
public final class ControlClient {
    private final Path socket;
    /** Told each request line sent and each reply line read (xl -vvv), or null. */
    private final Consumer<String> trace;

    public ControlClient(Path socket) {
        this(socket, null);
    }

    private ControlClient(Path socket, Consumer<String> trace) {
        this.socket = socket;
        this.trace = trace;
    }

    /** The same client, telling {@code trace} each request line it sends ({@code > LINE}) and each reply ({@code < LINE}). */
    public ControlClient tracing(Consumer<String> trace) {
        return new ControlClient(socket, trace);
    }

    /** {@code <run-dir>/toolstack.sock}. */
    public static ControlClient forRunDir(Path runDir) {
        return new ControlClient(runDir.resolve(ControlServer.SOCKET_NAME));
    }

    /** Sends a request and collects its data lines. */
    public List<String> call(String request) throws IOException, ControlException {
        List<String> lines = new ArrayList<>();
        call(request, null, lines::add);
        return lines;
    }

    /**
     * xl exec in dom0: the host runs {@code argv} in dom0's kernel (ControlServer's {@code exec}) and answers
     * with its output and exit status.
     */
    public GuestExecClient.Result execInDom0(List<String> argv) throws IOException, ControlException {
        if (argv.isEmpty()) throw new IllegalArgumentException("no command");
        StringBuilder b = new StringBuilder();
        for (String a : argv) {
            if (a.indexOf('\0') >= 0 || a.indexOf('\n') >= 0) throw new IllegalArgumentException("argument with a newline or NUL: " + a);
            b.append(a).append('\0');
        }
        byte[] payload = b.toString().getBytes(StandardCharsets.UTF_8);
        byte[][] streams = new byte[2][];
        int[] status = {255};
        call("exec 0 " + payload.length, payload, l -> {
            java.util.Base64.Decoder d = java.util.Base64.getDecoder();
            if (l.startsWith("stdout ")) streams[0] = d.decode(l.substring(7));
            else if (l.startsWith("stderr ")) streams[1] = d.decode(l.substring(7));
            else if (l.startsWith("status ")) status[0] = Integer.parseInt(l.substring(7));
        });
        return new GuestExecClient.Result(status[0], streams[0] == null ? new byte[0] : streams[0],
                streams[1] == null ? new byte[0] : streams[1]);
    }

    /** An attached console: read the guest's output from {@link #output}, type with {@link #type}. */
    public static final class ConsoleSession implements AutoCloseable {
        private final LineChannel channel;

        private ConsoleSession(LineChannel channel) {
            this.channel = channel;
        }

        /** The console's bytes: what it showed so far, then the guest's output as it comes; ends when the domain dies. */
        public java.io.InputStream output() {
            return new java.io.InputStream() {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    return len == 0 ? 0 : channel.readSome(b, off, len);
                }
            };
        }

        /** Keys typed on the console, for the guest's console ring's {@code in} buffer. */
        public void type(byte[] bytes, int off, int len) throws IOException {
            channel.write(java.util.Arrays.copyOfRange(bytes, off, off + len));
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** xl console DOM: attaches to the guest's console (ControlServer's {@code console}). */
    public ConsoleSession console(String dom) throws IOException, ControlException {
        LineChannel c = new LineChannel(connect());
        try {
            c.write(("console " + dom + "\n").getBytes(StandardCharsets.UTF_8));
            String line = c.readLine();
            if (line == null) throw new IOException("the host closed the connection without a reply");
            if (line.startsWith(ControlServer.ERROR)) throw new ControlException(line.substring(ControlServer.ERROR.length()));
            if (!line.equals(ControlServer.OK)) throw new IOException("unexpected reply line from the host: " + line);
            return new ConsoleSession(c);
        } catch (IOException | ControlException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private SocketChannel connect() throws IOException {
        String tooLong = UserErrors.socketPathProblem(socket, "host directory (-H)");
        if (tooLong != null) throw new IOException("cannot reach the jxen host: " + tooLong);
        try {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                ch.close();
                throw e;
            }
            return ch;
        } catch (IOException e) {
            throw new IOException("cannot reach the jxen host at " + socket + " (is `jxen host` running?): " + e.getMessage(), e);
        }
    }

    /**
     * Sends {@code request} (and {@code payload}, whose length the request line must carry) and passes each data
     * line to {@code onLine} as it arrives, until the final OK; an ERROR reply throws.
     */
    public void call(String request, byte[] payload, Consumer<String> onLine) throws IOException, ControlException {
        try (LineChannel c = new LineChannel(connect())) {
            if (trace != null) trace.accept("> " + request + (payload != null ? " (+" + payload.length + " bytes)" : ""));
            c.write((request + "\n").getBytes(StandardCharsets.UTF_8));
            if (payload != null) c.write(payload);
            while (true) {
                String line = c.readLine();
                if (line == null) throw new IOException("the host closed the connection without a reply");
                if (trace != null) trace.accept("< " + line);
                if (line.startsWith(ControlServer.DATA)) {
                    onLine.accept(line.substring(ControlServer.DATA.length()));
                } else if (line.equals(ControlServer.OK)) {
                    return;
                } else if (line.startsWith(ControlServer.ERROR)) {
                    throw new ControlException(line.substring(ControlServer.ERROR.length()));
                } else {
                    throw new IOException("unexpected reply line from the host: " + line);
                }
            }
        }
    }
}
