package org.jxen.xenstored.engine;

/**
 * What the daemon knows of one domain: whether it was introduced (and where its ring is), its device-model
 * target, its resource usage, and its quota overrides. A record exists for every domain that was introduced,
 * has a connection, or owns nodes.
 */
final class Domain {
    final int domid;
    boolean introduced;
    long gfn;
    int port;
    /** SET_TARGET: this domain acts for {@code target} (a device model), or -1. */
    int target = -1;
    /** @releaseDomain already fired for this domain's shutdown; RESUME re-arms it. */
    boolean shutdownNotified;
    int connections;

    int nodes;
    long nodeMemory;
    int watches;
    long watchMemory;
    boolean softMemoryWarned;

    final QuotaSettings overrides = QuotaSettings.unset();

    Domain(int domid) {
        this.domid = domid;
    }

    long memory() {
        return nodeMemory + watchMemory;
    }

    /** Still worth keeping: introduced, connected, owning something, or carrying settings. */
    boolean inUse() {
        return introduced || connections > 0 || nodes > 0 || watches > 0 || target >= 0;
    }
}
