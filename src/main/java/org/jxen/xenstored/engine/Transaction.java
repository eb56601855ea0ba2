package org.jxen.xenstored.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;

/**
 * A transaction as C xenstored has done it since 4.9: reads and writes go to a private overlay; every node
 * read or written (also a read that found nothing) is remembered with the generation it had; the commit
 * fails with EAGAIN if any of those changed meanwhile, and otherwise swaps the overlay in. Unrelated writes
 * by others do not conflict, but adding or removing a child changes the parent node and so does.
 */
final class Transaction implements StoreView {
    private static final long ABSENT = -1;

    final int id;
    private final DataTree tree;
    private final Domains domains;
    private final int nodeLimit;
    /** Path -> the node as this transaction made it, or null for removed. Insertion order = change order. */
    private final LinkedHashMap<String, Node> overlay = new LinkedHashMap<>();
    /**
     * Every node accessed, as the committed tree had it at first access (null: absent). Later reads of a node
     * this transaction has not written return this copy, not the live one: C xenstored copies a node into the
     * transaction on first access (access_node / transaction_prepend), so reads inside a transaction are
     * repeatable; its generation is what the commit compares.
     */
    private final HashMap<String, Node> firstRead = new HashMap<>();
    private final Accounting pending = new Accounting();
    private final List<WatchEvent> events = new ArrayList<>();
    /** Paths this transaction removed (and may have made again): a commit removes them before it puts them. */
    private final java.util.HashSet<String> removed = new java.util.HashSet<>();

    /** Open when the daemon restarted: it can only end, and a commit is EAGAIN (as after a live update). */
    boolean restored;

    Transaction(int id, DataTree tree, Domains domains, int nodeLimit) {
        this.id = id;
        this.tree = tree;
        this.domains = domains;
        this.nodeLimit = nodeLimit;
    }

    @Override
    public Node read(String path) throws XenStoreException {
        if (overlay.containsKey(path)) return overlay.get(path);
        if (firstRead.containsKey(path)) return firstRead.get(path);
        if (nodeLimit >= 0 && firstRead.size() >= nodeLimit) {
            throw new ErrorReply(XsError.ENOSPC, "transaction touches more than " + nodeLimit + " nodes");
        }
        Node n = tree.get(path);
        firstRead.put(path, n);
        return n;
    }

    @Override
    public void write(Node node) throws XenStoreException {
        Node before = read(node.path);
        pending.charge(before, node);
        overlay.put(node.path, node);
    }

    @Override
    public void delete(String path) throws XenStoreException {
        Node before = read(path);
        pending.charge(before, null);
        overlay.put(path, null);
        removed.add(path);
    }

    @Override
    public int nodesOwnedBy(int domid) {
        return (int) (domains.nodes(domid) + pending.nodes(domid));
    }

    @Override
    public long memoryOf(int domid) {
        return domains.memory(domid) + pending.memory(domid);
    }

    @Override
    public void changed(WatchEvent event) {
        events.add(event);
    }

    /** Memory this transaction holds on behalf of its domain (bounded by the memory quota, XSA-326). */
    long pendingMemory(int domid) {
        return pending.memory(domid);
    }

    /**
     * Commits: verifies nothing read or written changed, then applies the overlay to the tree and charges the
     * real differences. Returns the events to fire.
     */
    List<WatchEvent> commit() throws XenStoreException {
        if (restored) throw new ErrorReply(XsError.EAGAIN, "transaction " + id + " was open when xenstored restarted");
        for (Map.Entry<String, Node> e : firstRead.entrySet()) {
            if (generation(tree.get(e.getKey())) != generation(e.getValue())) {
                throw new ErrorReply(XsError.EAGAIN, "conflict on " + e.getKey());
            }
        }
        for (Map.Entry<String, Node> e : overlay.entrySet()) {
            Node before = tree.get(e.getKey());
            Node after = e.getValue();
            if (before == null && after == null) continue;
            domains.charge(before, after);
            // Made again after a removal: the journal must see the removal too (the node moved to the end of
            // its parent's children, and a replay keeps a node that was only rewritten where it was).
            if (after == null || (before != null && removed.contains(e.getKey()))) tree.remove(e.getKey());
            if (after != null) tree.put(after);
        }
        return events;
    }

    private static long generation(Node n) {
        return n == null ? ABSENT : n.generation;
    }
}
