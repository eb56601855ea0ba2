package org.jxen.xenstored.engine;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.jxen.xenstore.XsPerms;

/**
 * The committed store: nodes by absolute path, plus the generation counter. No networking, no threads: the
 * daemon's event loop is its only user, and tests drive it directly.
 */
public final class DataTree {
    private final HashMap<String, Node> nodes = new HashMap<>();
    private long generation;
    /** Told of every committed change (the journal's dirty set); null when nothing persists. */
    private StateLog changes;

    public DataTree() {
        nodes.put("/", new Node("/", new byte[0], XsPerms.ROOT_DEFAULT, new String[0], nextGeneration()));
    }

    public Node get(String path) {
        return nodes.get(path);
    }

    long nextGeneration() {
        return ++generation;
    }

    public long generation() {
        return generation;
    }

    /** Stores a node as the new committed version, stamping it with a fresh generation. */
    Node put(Node node) {
        Node stamped = node.withGeneration(nextGeneration());
        nodes.put(stamped.path, stamped);
        if (changes != null) changes.changed(stamped.path, false);
        return stamped;
    }

    void remove(String path) {
        nodes.remove(path);
        if (changes != null) changes.changed(path, true);
    }

    void setChangeLog(StateLog log) {
        this.changes = log;
    }

    /** Empties the tree down to a bare root (a snapshot is about to be restored into it). */
    void clear() {
        nodes.clear();
        nodes.put("/", new Node("/", new byte[0], XsPerms.ROOT_DEFAULT, new String[0], nextGeneration()));
    }

    public int size() {
        return nodes.size();
    }

    /** Visits every node, parents before children, iteratively (deep trees must not exhaust the stack, XSA-418). */
    public void walk(Consumer<Node> visitor) {
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
        todo.push("/");
        while (!todo.isEmpty()) {
            Node n = nodes.get(todo.pop());
            if (n == null) continue;
            visitor.accept(n);
            for (int i = n.children.length - 1; i >= 0; i--) todo.push(n.childPath(n.children[i]));
        }
    }

    /** All nodes, unordered; for consistency checks. */
    Map<String, Node> view() {
        return java.util.Collections.unmodifiableMap(nodes);
    }
}
