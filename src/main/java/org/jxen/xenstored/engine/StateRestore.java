package org.jxen.xenstored.engine;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jxen.xenstore.XsPaths;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstored.state.StateVisitor;

/**
 * Applies a snapshot and the journal after it to a fresh engine: nodes as they were last written (accounting
 * recharged as they go in), settings, and the guests' connections, which wait as {@link StateLog.Parked} until
 * their rings are attached again. Runs before the event loop serves anyone, with the change log detached.
 */
final class StateRestore implements StateVisitor {
    private static final Logger LOG = System.getLogger("jxen.xenstored");

    private final XenStoreEngine engine;
    private final DataTree tree;
    private final Domains domains;
    private final Map<Integer, StateLog.Parked> parked;
    private boolean cleared;

    StateRestore(XenStoreEngine engine, DataTree tree, Domains domains, Map<Integer, StateLog.Parked> parked) {
        this.engine = engine;
        this.tree = tree;
        this.domains = domains;
        this.parked = parked;
    }

    /** A snapshot holds every node: start it from a bare root, not from a fresh store's defaults. */
    void snapshotStarts() {
        if (cleared) return;
        cleared = true;
        tree.walk(n -> domains.charge(n, null));
        tree.clear();
        domains.charge(null, tree.get("/"));
    }

    @Override
    public void node(String path, XsPerms perms, byte[] value) {
        if (perms == null) {
            removeSubtree(path);
            return;
        }
        Node old = tree.get(path);
        if (old != null) {
            Node n = new Node(path, value, perms, old.children.clone(), 0);
            domains.charge(old, n);
            tree.put(n);
            return;
        }
        String parentPath = XsPaths.parent(path);
        Node parent = parentPath == null ? null : tree.get(parentPath);
        if (parent == null) {
            LOG.log(Level.ERROR, "xenstored: state names {0} before its parent; skipped", path);
            return;
        }
        Node n = Node.create(path, value, perms);
        domains.charge(null, n);
        tree.put(n);
        Node p2 = parent.withChild(XsPaths.basename(path));
        domains.charge(parent, p2);
        tree.put(p2);
    }

    private void removeSubtree(String path) {
        Node top = tree.get(path);
        if (top == null || path.equals("/")) return;
        List<String> all = new ArrayList<>();
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
        todo.push(path);
        while (!todo.isEmpty()) {
            Node n = tree.get(todo.pop());
            if (n == null) continue;
            all.add(n.path);
            for (String c : n.children) todo.push(n.childPath(c));
        }
        for (String p : all) {
            domains.charge(tree.get(p), null);
            tree.remove(p);
        }
        Node parent = tree.get(XsPaths.parent(path));
        if (parent != null) {
            Node p2 = parent.withoutChild(XsPaths.basename(path));
            domains.charge(parent, p2);
            tree.put(p2);
        }
    }

    @Override
    public void ringConnection(int connId, int domid, int tdomid, int evtchn) {
        parked.put(connId, new StateLog.Parked(connId, domid, evtchn));
    }

    @Override
    public void connectionGone(int connId) {
        parked.remove(connId);
    }

    @Override
    public void watch(int connId, String wpath, String token, boolean gone) {
        StateLog.Parked p = parked.get(connId);
        if (p == null) return;
        String key = wpath + '\0' + token;
        if (gone) p.watches.remove(key);
        else p.watches.put(key, new String[] {wpath, token});
    }

    @Override
    public void transaction(int connId, int txId, boolean gone) {
        StateLog.Parked p = parked.get(connId);
        if (p == null) return;
        if (gone) p.transactions.remove(txId);
        else p.transactions.add(txId);
    }

    @Override
    public void ringReply(int connId, int reqEnd, byte[] frame) {
        StateLog.Parked p = parked.get(connId);
        if (p == null) return;
        p.replies.put(reqEnd, frame);
        while (p.replies.size() > StateLog.MAX_UNPUBLISHED) p.replies.remove(p.replies.keySet().iterator().next());
    }

    @Override
    public void settings(String text) {
        engine.applySettings(text);
    }
}
