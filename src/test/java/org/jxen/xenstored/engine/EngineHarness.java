package org.jxen.xenstored.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;

/**
 * Drives a {@link XenStoreEngine} directly, without sockets or threads. Each {@link Client} records what the
 * engine queued for it; {@link #req} sends one request, drains the connection's output and returns the reply,
 * keeping watch events (in order) for {@link #events}. Payloads are written as Java strings with {@code \0}
 * for NUL and compared byte for byte.
 */
public final class EngineHarness {
    final XenStoreEngine engine = new XenStoreEngine();

    /** A recording {@link ConnectionIo}: the engine's view of one peer plus what the peer has received. */
    final class Client implements ConnectionIo {
        Connection conn;
        boolean closedByEngine;
        final List<XsMessage> events = new ArrayList<>();

        @Override
        public void outputReady(Connection connection) {}

        @Override
        public void close(Connection connection) {
            closedByEngine = true;
        }

        int domid() {
            return conn.domid;
        }
    }

    Client connect(int domid, boolean privileged) {
        Client c = new Client();
        c.conn = engine.connect(c, domid, privileged, "test");
        return c;
    }

    /** A dom0 (privileged) connection. */
    Client dom0() {
        return connect(0, true);
    }

    /**
     * A guest as a toolstack sets it up: introduced, home {@code /local/domain/<domid>} owned by it with no
     * access for others, and an unprivileged connection.
     */
    Client guest(Client dom0, int domid) {
        ok(dom0, XsType.INTRODUCE, domid + "\0" + (1000 + domid) + "\0" + domid + "\0");
        String home = "/local/domain/" + domid;
        ok(dom0, XsType.MKDIR, home + "\0");
        ok(dom0, XsType.SET_PERMS, home + "\0n" + domid + "\0");
        return connect(domid, false);
    }

    // ---- raw requests ----------------------------------------------------------------------------------

    public static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static String str(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /** Hands a request to the engine without reading any output. */
    void send(Client c, int type, int reqId, int txId, byte[] payload) {
        engine.handle(c.conn, new XsMessage(type, reqId, txId, payload));
    }

    /** Everything queued for {@code c}, in order, draining it. */
    List<XsMessage> drain(Client c) {
        List<XsMessage> out = new ArrayList<>();
        XsMessage m;
        while ((m = engine.nextOutput(c.conn)) != null) out.add(m);
        return out;
    }

    /** Sends a request and returns its one reply; watch events queued before and after are kept. */
    XsMessage req(Client c, XsType type, int txId, byte[] payload) {
        return req(c, type.code, txId, payload);
    }

    XsMessage req(Client c, int type, int txId, byte[] payload) {
        drainEvents(c);
        send(c, type, 7, txId, payload);
        XsMessage reply = null;
        for (XsMessage m : drain(c)) {
            if (m.type() == XsType.WATCH_EVENT.code) {
                c.events.add(m);
            } else {
                assertThat(reply).as("one reply per request").isNull();
                reply = m;
            }
        }
        assertThat(reply).as("reply to %s", XsType.name(type)).isNotNull();
        assertThat(reply.reqId()).as("req_id echoed").isEqualTo(7);
        assertThat(reply.txId()).as("tx_id echoed").isEqualTo(txId);
        return reply;
    }

    XsMessage req(Client c, XsType type, int txId, String payload) {
        return req(c, type, txId, bytes(payload));
    }

    XsMessage req(Client c, XsType type, String payload) {
        return req(c, type, 0, bytes(payload));
    }

    private void drainEvents(Client c) {
        for (XsMessage m : drain(c)) {
            assertThat(m.type()).as("unexpected reply queued: %s", m).isEqualTo(XsType.WATCH_EVENT.code);
            c.events.add(m);
        }
    }

    // ---- assertions ------------------------------------------------------------------------------------

    /** Asserts a reply of the request's type with exactly these payload bytes. */
    public static void assertReply(XsMessage reply, XsType type, String payload) {
        assertThat(XsType.name(reply.type()) + " " + reply.payloadText())
                .isEqualTo(type.name() + " " + Payloads.printable(bytes(payload)));
        assertThat(reply.payload()).isEqualTo(bytes(payload));
    }

    public static void assertError(XsMessage reply, XsError error) {
        assertReply(reply, XsType.ERROR, error.name() + "\0");
    }

    /** Sends and asserts the reply is {@code type} with payload {@code OK\0}; returns nothing. */
    void ok(Client c, XsType type, String payload) {
        assertReply(req(c, type, payload), type, "OK\0");
    }

    void ok(Client c, XsType type, int txId, String payload) {
        assertReply(req(c, type, txId, payload), type, "OK\0");
    }

    /** Sends and returns the reply payload after asserting the reply has the request's type. */
    String get(Client c, XsType type, String payload) {
        return get(c, type, 0, payload);
    }

    String get(Client c, XsType type, int txId, String payload) {
        XsMessage r = req(c, type, txId, payload);
        assertThat(XsType.name(r.type())).as("reply to %s %s: %s", type, payload, r.payloadText()).isEqualTo(type.name());
        return str(r.payload());
    }

    void err(Client c, XsType type, String payload, XsError error) {
        assertError(req(c, type, payload), error);
    }

    void err(Client c, XsType type, int txId, String payload, XsError error) {
        assertError(req(c, type, txId, payload), error);
    }

    // ---- common operations -----------------------------------------------------------------------------

    void write(Client c, String path, String value) {
        ok(c, XsType.WRITE, path + "\0" + value);
    }

    void write(Client c, int txId, String path, String value) {
        ok(c, XsType.WRITE, txId, path + "\0" + value);
    }

    String read(Client c, String path) {
        return get(c, XsType.READ, path + "\0");
    }

    String read(Client c, int txId, String path) {
        return get(c, XsType.READ, txId, path + "\0");
    }

    String perms(Client c, String path) {
        return get(c, XsType.GET_PERMS, path + "\0");
    }

    void setPerms(Client c, String path, String... perms) {
        ok(c, XsType.SET_PERMS, path + "\0" + String.join("\0", perms) + "\0");
    }

    int txStart(Client c) {
        String id = get(c, XsType.TRANSACTION_START, "\0");
        assertThat(id).endsWith("\0");
        return Integer.parseInt(id.substring(0, id.length() - 1));
    }

    void commit(Client c, int txId) {
        ok(c, XsType.TRANSACTION_END, txId, "T\0");
    }

    /** Registers a watch, asserts the OK and the initial event, and forgets that event. */
    void watch(Client c, String path, String token) {
        ok(c, XsType.WATCH, path + "\0" + token + "\0");
        assertThat(events(c)).containsExactly(path + "\0" + token + "\0");
    }

    /** Watch events received since the last call, as payload strings, in order. */
    List<String> events(Client c) {
        drainEvents(c);
        List<String> out = new ArrayList<>();
        for (XsMessage m : c.events) {
            assertThat(m.reqId()).isZero();
            assertThat(m.txId()).isZero();
            out.add(str(m.payload()));
        }
        c.events.clear();
        return out;
    }

    /** Sets a per-domain quota. */
    void quota(Client dom0, int domid, String name, int value) {
        ok(dom0, XsType.SET_QUOTA, domid + "\0" + name + "\0" + value + "\0");
    }

    long usage(int domid, Quota q) {
        return engine.usage(domid, q);
    }

    /** CONTROL check finds the tree and accounting consistent. */
    void assertConsistent() {
        assertThat(engine.check()).isEmpty();
    }

    public static String repeat(char ch, int n) {
        return String.valueOf(ch).repeat(n);
    }
}
