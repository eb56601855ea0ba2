package org.jxen.xenstored.engine;

import java.util.HashMap;
import java.util.Map;

/**
 * Node count and node memory per owning domain, as a delta. The committed tree charges domains directly;
 * a transaction keeps its own delta so quota checks see its pending changes and nothing is charged unless
 * the commit succeeds (XSA-421, XSA-440).
 */
final class Accounting {
    /** [nodes, memory] per domid. */
    private final Map<Integer, long[]> delta = new HashMap<>();

    void charge(Node before, Node after) {
        if (before != null) add(before.perms.owner(), -1, -before.memorySize());
        if (after != null) add(after.perms.owner(), 1, after.memorySize());
    }

    private void add(int domid, long nodes, long memory) {
        long[] d = delta.computeIfAbsent(domid, k -> new long[2]);
        d[0] += nodes;
        d[1] += memory;
    }

    long nodes(int domid) {
        long[] d = delta.get(domid);
        return d == null ? 0 : d[0];
    }

    long memory(int domid) {
        long[] d = delta.get(domid);
        return d == null ? 0 : d[1];
    }

    Map<Integer, long[]> entries() {
        return delta;
    }
}
