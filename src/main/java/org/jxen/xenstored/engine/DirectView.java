package org.jxen.xenstored.engine;

import java.util.List;

/** The committed tree seen by a request outside any transaction: changes apply at once. */
final class DirectView implements StoreView {
    private final DataTree tree;
    private final Domains domains;
    private final List<WatchEvent> events;

    DirectView(DataTree tree, Domains domains, List<WatchEvent> events) {
        this.tree = tree;
        this.domains = domains;
        this.events = events;
    }

    @Override
    public Node read(String path) {
        return tree.get(path);
    }

    @Override
    public void write(Node node) {
        domains.charge(tree.get(node.path), node);
        tree.put(node);
    }

    @Override
    public void delete(String path) {
        domains.charge(tree.get(path), null);
        tree.remove(path);
    }

    @Override
    public int nodesOwnedBy(int domid) {
        return domains.nodes(domid);
    }

    @Override
    public long memoryOf(int domid) {
        return domains.memory(domid);
    }

    @Override
    public void changed(WatchEvent event) {
        events.add(event);
    }
}
