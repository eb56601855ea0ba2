package org.jxen.cli.demo;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.jxen.xenstored.engine.Connection;
import org.jxen.xenstored.engine.Tracer;

/**
 * Watches one device's handshake from inside xenstored: every committed write or removal under the device's
 * frontend and backend directories becomes a {@link Step}, in the daemon's own order, with the directory it
 * is in and who wrote it, told by the connection it came over ({@code writer}: the toolstack's, a hotplug
 * script's, a kernel's). Writes made inside a transaction are held back until it commits (and dropped if it
 * fails), as watchers would see them.
 */
final class HandshakeObserver implements Tracer {
    /**
     * One change to a device node: the directory it is in ({@code column}: FRONTEND or BACKEND), who wrote it
     * ({@code by}), the key below the device directory, and its new value (null: removed).
     */
    public record Step(int seq, long nanos, HandshakeDiagram.Column column, HandshakeDiagram.Column by, String key,
            String value) {
        /** The value read as a xenbus state name when {@code key} is {@code state}, else null. */
        public String stateName() {
            if (!key.equals("state")) return null;
            String[] names = {"Unknown", "Initialising", "InitWait", "Initialised", "Connected", "Closing", "Closed",
                    "Reconfiguring", "Reconfigured"};
            try {
                int v = Integer.parseInt(value);
                return v >= 0 && v < names.length ? names[v] : value;
            } catch (NumberFormatException e) {
                return value;
            }
        }

        public String json() {
            return "{\"seq\":" + seq + ",\"nanos\":" + nanos + ",\"side\":\"" + column.name().toLowerCase()
                    + "\",\"by\":\"" + by.name().toLowerCase() + "\",\"key\":\"" + esc(key) + "\",\"value\":" + (value == null ? "null" : "\"" + esc(value) + "\"")
                    + (stateName() != null ? ",\"state\":\"" + stateName() + "\"" : "") + "}";
        }

        static String esc(String s) {
            StringBuilder sb = new StringBuilder();
            for (char c : s.toCharArray()) {
                if (c == '"' || c == '\\') sb.append('\\').append(c);
                else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                else sb.append(c);
            }
            return sb.toString();
        }
    }

    private record Pending(String path, String value, HandshakeDiagram.Column by) {}

    private final String frontend;
    private final String backend;
    private final Consumer<Step> sink;
    private final java.util.function.Function<Connection, HandshakeDiagram.Column> writer;
    private final Map<String, List<Pending>> inTransaction = new HashMap<>();
    private Pending lastRequest;
    private String lastKey;
    private XsType lastType;
    private int seq;

    public HandshakeObserver(String frontendPath, String backendPath,
            java.util.function.Function<Connection, HandshakeDiagram.Column> writer, Consumer<Step> sink) {
        this.frontend = frontendPath;
        this.backend = backendPath;
        this.writer = writer;
        this.sink = sink;
    }

    @Override
    public void trace(Direction direction, Connection c, XsMessage m) {
        if (direction == Direction.IN) {
            // xenstored answers each request before reading the next: the next OUT on this key is its reply.
            lastKey = key(c, m);
            lastType = m.xsType();
            lastRequest = null;
            if (lastType == XsType.WRITE || lastType == XsType.RM) {
                List<String> parts = Payloads.split(m.payload());
                String path = parts.isEmpty() ? "" : parts.getFirst();
                if (relevant(path)) {
                    lastRequest = new Pending(path, lastType == XsType.RM ? null : Payloads.text(valueOf(m.payload())),
                            writer.apply(c));
                }
            }
            return;
        }
        if (direction != Direction.OUT || !key(c, m).equals(lastKey)) return;
        boolean ok = m.type() != XsType.ERROR.code;
        String tx = c.id + "/" + m.txId();
        if (lastType == XsType.TRANSACTION_END) {
            List<Pending> held = inTransaction.remove(tx);
            if (ok && held != null) held.forEach(this::emit);
        } else if (lastRequest != null && ok) {
            if (m.txId() == 0) emit(lastRequest);
            else inTransaction.computeIfAbsent(tx, k -> new ArrayList<>()).add(lastRequest);
        }
        lastKey = null;
    }

    private static String key(Connection c, XsMessage m) {
        return c.id + "/" + m.reqId() + "/" + m.txId();
    }

    private static byte[] valueOf(byte[] payload) {
        int nul = Payloads.firstNul(payload);
        return nul < 0 ? new byte[0] : java.util.Arrays.copyOfRange(payload, nul + 1, payload.length);
    }

    private boolean relevant(String path) {
        return path.startsWith(frontend) || path.startsWith(backend);
    }

    private void emit(Pending p) {
        boolean front = p.path.startsWith(frontend);
        String base = front ? frontend : backend;
        String key = p.path.length() > base.length() ? p.path.substring(base.length() + 1) : "";
        HandshakeDiagram.Column col = front ? HandshakeDiagram.Column.FRONTEND : HandshakeDiagram.Column.BACKEND;
        sink.accept(new Step(++seq, System.nanoTime(), col, p.by, key, p.value));
    }

    /** Writes each step as a JSON line (the demo's --trace). */
    public static Consumer<Step> jsonLines(Writer out) {
        return s -> {
            try {
                out.write(s.json());
                out.write('\n');
                out.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
    }
}
