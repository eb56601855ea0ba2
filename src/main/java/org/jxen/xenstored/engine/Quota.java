package org.jxen.xenstored.engine;

/**
 * The nine quotas of C xenstored (tools/xenstored/domain.c quota_adm) with their defaults. Only unprivileged
 * domains are held to them; the wire names are what GET_QUOTA/SET_QUOTA and {@code xenstore-control quota} use.
 */
public enum Quota {
    NODES("nodes", "Nodes per domain", 1000),
    WATCHES("watches", "Watches per domain", 128),
    OUTSTANDING("outstanding", "Outstanding requests per domain", 20),
    MEMORY("memory", "Total Xenstore memory per domain", 2 * 1024 * 1024 + 512 * 1024),
    TRANSACTIONS("transactions", "Active transactions per domain", 10),
    TRANSACTION_NODES("transaction-nodes", "Max. number of accessed nodes per transaction", 1024),
    NODE_PERMISSIONS("node-permissions", "Max. number of permissions per node", 5),
    PATH_MAX("path-max", "Max. length of a node path", 2048),
    NODE_SIZE("node-size", "Max. size of a node", 2048);

    /** The one soft quota: memory use above it is logged, not refused. */
    public static final int SOFT_MEMORY_DEFAULT = 2 * 1024 * 1024;
    public static final String SOFT_PREFIX = "soft-";

    public final String wireName;
    public final String description;
    public final int defaultValue;

    Quota(String wireName, String description, int defaultValue) {
        this.wireName = wireName;
        this.description = description;
        this.defaultValue = defaultValue;
    }

    public static Quota byName(String name) {
        for (Quota q : values()) if (q.wireName.equals(name)) return q;
        return null;
    }
}
