package org.jxen.xenstored.engine;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/** The domain records and the quotas that apply to them. */
final class Domains {
    private final Map<Integer, Domain> byId = new HashMap<>();
    final QuotaSettings global = QuotaSettings.defaults();

    Domain get(int domid) {
        return byId.get(domid);
    }

    Domain getOrCreate(int domid) {
        return byId.computeIfAbsent(domid, Domain::new);
    }

    Collection<Domain> all() {
        return byId.values();
    }

    /** Drops a record nothing refers to any more, so memory stays bounded by live domains. */
    void forgetIfUnused(Domain d) {
        if (!d.inUse() && d.domid != 0) byId.remove(d.domid);
    }

    void remove(int domid) {
        byId.remove(domid);
    }

    int nodes(int domid) {
        Domain d = byId.get(domid);
        return d == null ? 0 : d.nodes;
    }

    long memory(int domid) {
        Domain d = byId.get(domid);
        return d == null ? 0 : d.memory();
    }

    void charge(Node before, Node after) {
        if (before != null) {
            Domain d = getOrCreate(before.perms.owner());
            d.nodes--;
            d.nodeMemory -= before.memorySize();
            if (d.nodes == 0) forgetIfUnused(d);
        }
        if (after != null) {
            Domain d = getOrCreate(after.perms.owner());
            d.nodes++;
            d.nodeMemory += after.memorySize();
            warnIfOverSoftLimit(d);
        }
    }

    /** The soft memory quota only warns, once per crossing, as C xenstored's does. */
    void warnIfOverSoftLimit(Domain d) {
        if (d.domid == 0) return;
        boolean over = d.memory() > softMemory(d.domid);
        if (over && !d.softMemoryWarned) {
            System.getLogger("jxen.xenstored").log(System.Logger.Level.WARNING,
                    "domain {0} uses {1} bytes, over the soft memory quota of {2}", d.domid, d.memory(), softMemory(d.domid));
        }
        d.softMemoryWarned = over;
    }

    /** The quota value in force for a domain: its override, else the global setting. */
    int limit(int domid, Quota q) {
        Domain d = byId.get(domid);
        int v = d == null ? QuotaSettings.UNSET : d.overrides.hard(q);
        return v != QuotaSettings.UNSET ? v : global.hard(q);
    }

    int softMemory(int domid) {
        Domain d = byId.get(domid);
        int v = d == null ? QuotaSettings.UNSET : d.overrides.softMemory();
        return v != QuotaSettings.UNSET ? v : global.softMemory();
    }
}
