package org.jxen.xenstored.engine;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsPaths;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstored.state.Journal;
import org.jxen.xenstored.state.RecordType;
import org.jxen.xenstored.state.RecordWriter;

/**
 * The engine's side of the journal: one batch per request (or per change the host reports), holding the
 * nodes the request changed as they now are (NODE_DATA), removals, the watches and transactions of guest rings
 * (the connections that survive a restart), the settings when they changed, and the reply of a guest's
 * request that changed something (RING_REPLY, so that a request read again after a restart is answered, not
 * applied twice). Everything runs on the event loop.
 */
final class StateLog {
    /** Replies kept per guest connection for requests not yet consumed: a 1 KiB ring holds at most 64 frames. */
    static final int MAX_UNPUBLISHED = 64;

    private final XenStoreEngine engine;
    private final DataTree tree;
    private final Journal journal;
    /** Paths changed in the current batch, and whether each was removed at some point (then recreated or not). */
    private LinkedHashMap<String, Boolean> dirty = new LinkedHashMap<>();
    /**
     * A map that once held many paths (an RM of a big subtree) keeps its big table, and HashMap.clear() walks
     * all of it: every later one-node WRITE paid for the largest batch ever seen (measured: 55% of the daemon's
     * time after one RM of 6,400 nodes). Past this many entries, the map is replaced instead of cleared.
     */
    private static final int DIRTY_KEPT = 64;
    /** The batch's one changed path while it has only one (then {@code dirty} is empty). */
    private String onlyPath;
    private boolean onlyRemoved;
    private boolean settingsDirty;
    private int depth;
    private int records;
    private RecordWriter w;

    StateLog(XenStoreEngine engine, DataTree tree, Journal journal) {
        this.engine = engine;
        this.tree = tree;
        this.journal = journal;
    }

    Journal journal() {
        return journal;
    }

    void begin() {
        if (depth++ == 0) {
            w = journal.beginBatch();
            records = 0;
        }
    }

    /** Ends a batch; {@code c} and {@code reply} name the request's connection and reply, or are null. */
    void end(Connection c, XsMessage reply) {
        if (--depth > 0) return;
        writeNodes();
        if (settingsDirty) {
            w.settings(settingsText());
            settingsDirty = false;
            records++;
        }
        if (records > 0 && c != null && c.durable && c.hasRequestEnd && reply != null) {
            byte[] frame = reply.toBytes();
            w.ringReply(c.domid, c.requestEnd, frame);
            c.unpublished.put(c.requestEnd, frame);
            while (c.unpublished.size() > MAX_UNPUBLISHED) c.unpublished.remove(c.unpublished.keySet().iterator().next());
        }
        if (c != null) c.hasRequestEnd = false;
        journal.endBatch();
        w = null;
    }

    void changed(String path, boolean removed) {
        if (dirty.isEmpty()) {
            // Most batches change one node: keep it in two fields, without a map entry to make and clear.
            if (onlyPath == null) {
                onlyPath = path;
                onlyRemoved = removed;
                return;
            }
            if (onlyPath.equals(path)) {
                onlyRemoved |= removed;
                return;
            }
            dirty.put(onlyPath, onlyRemoved);
            onlyPath = null;
        }
        dirty.merge(path, removed, Boolean::logicalOr);
    }

    void settingsChanged() {
        settingsDirty = true;
    }

    private static final Comparator<String> DEEPEST_FIRST = Comparator.comparingInt(StateLog::depthOf).reversed();
    private static final Comparator<String> PARENTS_FIRST = Comparator.comparingInt(StateLog::depthOf);
    private final List<String> removals = new ArrayList<>();
    private final List<String> upserts = new ArrayList<>();

    private void writeNodes() {
        if (onlyPath != null) {
            // The common case, a WRITE to a node that exists: no lists, no sorting.
            String path = onlyPath;
            onlyPath = null;
            Node n = tree.get(path);
            if (n == null || onlyRemoved) w.node(path, null, null);
            if (n != null) w.node(n.path, n.perms, n.value);
            records++;
            return;
        }
        if (dirty.isEmpty()) return;
        removals.clear();
        upserts.clear();
        for (Map.Entry<String, Boolean> e : dirty.entrySet()) {
            boolean exists = tree.get(e.getKey()) != null;
            if (!exists || e.getValue()) removals.add(e.getKey());
            if (exists) upserts.add(e.getKey());
        }
        if (dirty.size() > DIRTY_KEPT) {
            dirty = new LinkedHashMap<>();
        } else {
            dirty.clear();
        }
        // Deepest removals first, then creations parents first: new children land in the order they came.
        removals.sort(DEEPEST_FIRST);
        upserts.sort(PARENTS_FIRST);
        for (String p : removals) w.node(p, null, null);
        for (String p : upserts) {
            Node n = tree.get(p);
            w.node(p, n.perms, n.value);
        }
        records += removals.size() + upserts.size();
    }

    private static int depthOf(String path) {
        int d = 0;
        for (int i = 0; i < path.length(); i++) if (path.charAt(i) == '/') d++;
        return path.equals("/") ? 0 : d;
    }

    // ---- guest connections -------------------------------------------------------------------------------

    void connectionStarted(Connection c) {
        Domain d = engine.domains().get(c.domid);
        int target = d == null || d.target < 0 ? 0x7FF4 : d.target; // DOMID_INVALID when none
        w.ringConnection(c.domid, c.domid, target, d == null ? 0 : d.port);
        records++;
    }

    void connectionGone(Connection c) {
        w.connectionGone(c.domid);
        records++;
    }

    void watch(Connection c, Watch watch, boolean gone) {
        w.watch(gone ? RecordType.WATCH_GONE : RecordType.WATCH_DATA, c.domid, rawPath(c, watch), watch.token());
        records++;
    }

    void transaction(Connection c, int txId, boolean gone) {
        w.transaction(gone ? RecordType.TRANSACTION_GONE : RecordType.TRANSACTION_DATA, c.domid, txId);
        records++;
    }

    /** The path as the guest gave it in its WATCH, as the pandoc's WATCH_DATA holds it. */
    static String rawPath(Connection c, Watch watch) {
        return watch.relative() ? XsPaths.relativize(watch.path(), c.domid) : watch.path();
    }

    // ---- settings ------------------------------------------------------------------------------------------

    /**
     * Global quotas, the special nodes' permissions and every domain record that carries settings, one per line:
     * {@code quota NAME VALUE}, {@code special NAME PERM...}, {@code domain ID introduced=0|1 gfn=N port=N
     * target=N features=N|- notified=0|1 [quota.NAME=VALUE...]}.
     */
    String settingsText() {
        StringBuilder sb = new StringBuilder();
        engine.domains().global.forEachSet((n, v) -> sb.append("quota ").append(n).append(' ').append(v).append('\n'));
        for (Map.Entry<String, XsPerms> e : engine.specialPerms().entrySet()) {
            sb.append("special ").append(e.getKey()).append(' ').append(e.getValue()).append('\n');
        }
        for (Domain d : engine.domains().all()) {
            Integer features = engine.domainFeature(d.domid);
            if (!d.introduced && d.target < 0 && !d.overrides.anySet() && features == null && !d.shutdownNotified) continue;
            sb.append("domain ").append(d.domid).append(" introduced=").append(d.introduced ? 1 : 0)
                    .append(" gfn=").append(d.gfn).append(" port=").append(d.port).append(" target=").append(d.target)
                    .append(" features=").append(features == null ? "-" : features.toString())
                    .append(" notified=").append(d.shutdownNotified ? 1 : 0);
            d.overrides.forEachSet((n, v) -> sb.append(" quota.").append(n).append('=').append(v));
            sb.append('\n');
        }
        return sb.toString();
    }

    /** The whole state, for a snapshot or a live-update dump: settings, nodes, then the guests' connections. */
    void dump(RecordWriter out, Map<Integer, Parked> parked) {
        out.settings(settingsText());
        tree.walk(n -> out.node(n.path, n.perms, n.value));
        for (Connection c : engine.connections()) {
            if (!c.durable) continue;
            Domain d = engine.domains().get(c.domid);
            int target = d == null || d.target < 0 ? 0x7FF4 : d.target;
            out.ringConnection(c.domid, c.domid, target, d == null ? 0 : d.port);
            for (Watch watch : c.watches.values()) out.watch(RecordType.WATCH_DATA, c.domid, rawPath(c, watch), watch.token());
            for (Integer tx : c.transactions.keySet()) out.transaction(RecordType.TRANSACTION_DATA, c.domid, tx);
            for (Map.Entry<Integer, byte[]> r : c.unpublished.entrySet()) out.ringReply(c.domid, r.getKey(), r.getValue());
        }
        for (Parked p : parked.values()) p.dump(out);
    }

    /** Starts a snapshot (made durable in the background). */
    void snapshot(Map<Integer, Parked> parked) throws IOException {
        journal.snapshot(out -> dump(out, parked));
    }

    /** A snapshot, in place when this returns. */
    void snapshotNow(Map<Integer, Parked> parked) throws IOException {
        journal.snapshotNow(out -> dump(out, parked));
    }

    /** A guest connection recovered from the journal, waiting for its ring to be attached again. */
    static final class Parked {
        final int connId;
        final int domid;
        final int evtchn;
        /** Watch key (path NUL token) to the raw path and token. */
        final LinkedHashMap<String, String[]> watches = new LinkedHashMap<>();
        final java.util.TreeSet<Integer> transactions = new java.util.TreeSet<>();
        final LinkedHashMap<Integer, byte[]> replies = new LinkedHashMap<>();

        Parked(int connId, int domid, int evtchn) {
            this.connId = connId;
            this.domid = domid;
            this.evtchn = evtchn;
        }

        void dump(RecordWriter out) {
            out.ringConnection(connId, domid, 0x7FF4, evtchn);
            for (String[] wt : watches.values()) out.watch(RecordType.WATCH_DATA, connId, wt[0], wt[1]);
            for (Integer tx : transactions) out.transaction(RecordType.TRANSACTION_DATA, connId, tx);
            for (Map.Entry<Integer, byte[]> r : replies.entrySet()) out.ringReply(connId, r.getKey(), r.getValue());
        }
    }
}
