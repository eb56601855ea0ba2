package org.jxen.xenstore.fake;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsPaths;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.XsType;

/**
 * A small in-memory store for tool tests: values, permissions, children in creation order, watches. It
 * applies writes at once (transactions only get ids) and can be told to fail the next commits with EAGAIN.
 */
public final class MiniStore implements FakeXenstored.Handler {
    private record Node(byte[] value, List<String> perms, List<String> children) {}

    private record WatchReg(FakeXenstored.Conn conn, String path, String token) {}

    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private final List<WatchReg> watches = new ArrayList<>();
    private final AtomicInteger nextTx = new AtomicInteger(1);
    /** Commits still to be refused with EAGAIN. */
    public final AtomicInteger conflictsToReport = new AtomicInteger();
    /** How many commits were attempted. */
    public final AtomicInteger commits = new AtomicInteger();

    public MiniStore() {
        nodes.put("/", new Node(new byte[0], List.of("n0"), new ArrayList<>()));
    }

    @Override
    public synchronized void handle(FakeXenstored.Conn conn, XsMessage m) throws IOException {
        List<String> args = Payloads.split(m.payload());
        String path = args.isEmpty() ? "" : args.getFirst();
        XsType type = m.xsType();
        if (type == null) {
            conn.send(XsMessage.error(m, XsError.ENOSYS));
            return;
        }
        XsError error = null;
        byte[] reply = Payloads.OK;
        switch (type) {
            case READ -> {
                Node n = nodes.get(path);
                if (!XsPaths.isValidAbsolute(path)) error = XsError.EINVAL;
                else if (n == null) error = XsError.ENOENT;
                else reply = n.value;
            }
            case WRITE -> {
                int nul = Payloads.firstNul(m.payload());
                path = Payloads.cString(m.payload());
                byte[] value = java.util.Arrays.copyOfRange(m.payload(), nul + 1, m.payload().length);
                if (!XsPaths.isValidAbsolute(path)) error = XsError.EINVAL;
                else {
                    create(path, value);
                    fire(path);
                }
            }
            case MKDIR -> {
                if (!XsPaths.isValidAbsolute(path)) error = XsError.EINVAL;
                else if (!nodes.containsKey(path)) {
                    create(path, new byte[0]);
                    fire(path);
                }
            }
            case RM -> {
                if (!XsPaths.isValidAbsolute(path) || path.equals("/")) error = XsError.EINVAL;
                else if (!nodes.containsKey(XsPaths.parent(path))) error = XsError.ENOENT;
                else if (nodes.containsKey(path)) {
                    remove(path);
                    fire(path);
                }
            }
            case DIRECTORY -> {
                Node n = nodes.get(path);
                if (n == null) error = XsError.ENOENT;
                else reply = Payloads.strings(n.children.toArray(String[]::new));
            }
            case GET_PERMS -> {
                Node n = nodes.get(path);
                if (n == null) error = XsError.ENOENT;
                else reply = Payloads.strings(n.perms.toArray(String[]::new));
            }
            case SET_PERMS -> {
                Node n = nodes.get(path);
                List<String> perms = args.subList(1, args.size());
                if (n == null) error = XsError.ENOENT;
                else if (XsPerms.parse(perms) == null) error = XsError.EINVAL;
                else {
                    nodes.put(path, new Node(n.value, List.copyOf(perms), n.children));
                    fire(path);
                }
            }
            case WATCH -> {
                watches.add(new WatchReg(conn, path, args.get(1)));
                conn.send(m.reply(Payloads.OK));
                conn.send(XsMessage.of(XsType.WATCH_EVENT, 0, 0, Payloads.strings(path, args.get(1))));
                return;
            }
            case UNWATCH -> {
                String watched = path;
                if (!watches.removeIf(w -> w.conn == conn && w.path.equals(watched) && w.token.equals(args.get(1)))) {
                    error = XsError.ENOENT;
                }
            }
            case TRANSACTION_START -> reply = Payloads.strings(Integer.toString(nextTx.getAndIncrement()));
            case TRANSACTION_END -> {
                if (path.equals("T")) {
                    commits.incrementAndGet();
                    if (conflictsToReport.getAndUpdate(c -> Math.max(0, c - 1)) > 0) error = XsError.EAGAIN;
                }
            }
            default -> error = XsError.ENOSYS;
        }
        conn.send(error != null ? XsMessage.error(m, error) : m.reply(reply));
    }

    private void create(String path, byte[] value) {
        Node existing = nodes.get(path);
        if (existing != null) {
            nodes.put(path, new Node(value, existing.perms, existing.children));
        } else {
            String parent = XsPaths.parent(path);
            if (!nodes.containsKey(parent)) create(parent, new byte[0]);
            Node p = nodes.get(parent);
            p.children.add(XsPaths.basename(path));
            nodes.put(path, new Node(value, p.perms, new ArrayList<>()));
        }
    }

    private void remove(String path) {
        for (String child : List.copyOf(nodes.get(path).children)) remove(XsPaths.join(path, child));
        nodes.remove(path);
        Node parent = nodes.get(XsPaths.parent(path));
        if (parent != null) parent.children.remove(XsPaths.basename(path));
    }

    private void fire(String path) {
        for (WatchReg w : List.copyOf(watches)) {
            if (XsPaths.isChildOf(path, w.path)) {
                try {
                    w.conn.send(XsMessage.of(XsType.WATCH_EVENT, 0, 0, Payloads.strings(path, w.token)));
                } catch (IOException gone) {
                    // The watcher disconnected: its watches go with it, as in a real daemon.
                    watches.removeIf(x -> x.conn == w.conn);
                }
            }
        }
    }

    /** Test helper: the stored value, or null. */
    public synchronized byte[] value(String path) {
        Node n = nodes.get(path);
        return n == null ? null : n.value;
    }

}
