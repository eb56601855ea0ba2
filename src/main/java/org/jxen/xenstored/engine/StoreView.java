package org.jxen.xenstored.engine;

import org.jxen.xenstore.XenStoreException;

/**
 * The store as one request sees it: the committed tree directly, or a transaction's private copy. Store
 * operations are written once against this and so behave the same inside and outside transactions.
 */
interface StoreView {
    /** The node as this view sees it, or null. Inside a transaction the read is recorded for conflict checks. */
    Node read(String path) throws XenStoreException;

    /** Creates or replaces the node at {@code node.path}. */
    void write(Node node) throws XenStoreException;

    /** Removes the single node at {@code path} (the caller removes children first and unlinks the parent). */
    void delete(String path) throws XenStoreException;

    /** Nodes the domain owns as this view sees them (committed plus this view's pending changes). */
    int nodesOwnedBy(int domid);

    /** Memory the domain uses as this view sees it. */
    long memoryOf(int domid);

    /** Queues a watch event for when the change becomes visible (now, or at commit). */
    void changed(WatchEvent event);
}
