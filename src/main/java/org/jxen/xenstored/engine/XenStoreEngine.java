package org.jxen.xenstored.engine;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsPaths;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.XsType;
import org.jxen.xenstore.XsWire;

/**
 * xenstored's request processing: one instance owns the store and every connection's state, and is driven
 * by a single thread (the event loop), so there are no locks and there is one order of operations. It knows
 * nothing of sockets or rings; transports hand it frames and drain its output (see {@link Connection}).
 */
public final class XenStoreEngine {
    private static final Logger LOG = System.getLogger("jxen.xenstored");

    /** Requests only privileged connections may make (C xenstored's XS_FLAG_PRIV). */
    private static final Set<XsType> PRIVILEGED = EnumSet.of(XsType.INTRODUCE, XsType.RELEASE,
            XsType.IS_DOMAIN_INTRODUCED, XsType.RESUME, XsType.SET_TARGET, XsType.CONTROL,
            XsType.GET_FEATURE, XsType.SET_FEATURE, XsType.GET_QUOTA, XsType.SET_QUOTA);
    /**
     * Requests whose tx_id is ignored (C's XS_FLAG_NOTID): only WATCH and UNWATCH. Every other request with
     * an unknown tx_id is ENOENT before its arguments are looked at (process_message's transaction_lookup),
     * also RESUME or INTRODUCE, which do nothing with the transaction.
     */
    private static final Set<XsType> NO_TRANSACTION = EnumSet.of(XsType.WATCH, XsType.UNWATCH);
    /** DOMID_SELF: IS_DOMAIN_INTRODUCED of it is always T (the caller is there). */
    static final int DOMID_SELF = 0x7FF0;
    /** DOMID_FIRST_RESERVED: ids from here on are special values, never domains. */
    static final int DOMID_FIRST_RESERVED = 0x7FF0;
    /** Server features a guest ring may use: reconnection (1) and the error field (2). */
    public static final int SERVER_FEATURES = 3;
    /** Queued watch-event bytes a connection may hold before further events to it are dropped. */
    static final long EVENT_QUEUE_LIMIT_UNPRIVILEGED = 512 * 1024;
    /**
     * 2 MiB: a dom0 client that stops reading must not be able to fill the daemon's 12 MB heap (jvm.options);
     * one that reads at all is drained every loop round, and identical queued events are not repeated.
     */
    static final long EVENT_QUEUE_LIMIT_PRIVILEGED = 2 * 1024 * 1024;
    /** Queued replies after which a privileged connection's input is paused until it reads. */
    public static final int PRIVILEGED_REPLY_BACKLOG = 1024;

    private final DataTree tree = new DataTree();
    private final Domains domains = new Domains();
    private final StoreOps ops = new StoreOps(domains);
    private final Map<String, XsPerms> specialPerms = new HashMap<>();
    private final LinkedHashSet<Connection> connections = new LinkedHashSet<>();
    private final WatchIndex watchIndex = new WatchIndex();
    private final Map<Integer, Integer> domainFeatures = new HashMap<>();
    private final Control control = new Control(this);
    private DomainHooks hooks = DomainHooks.NONE;
    private Tracer tracer = Tracer.NONE;
    private int nextConnectionId = 1;
    /** The journal's recorder; null when the daemon keeps no state on disk. */
    private StateLog state;
    /** Guest connections recovered from the journal, by conn-id (the domid), until their rings are attached. */
    private final Map<Integer, StateLog.Parked> parked = new HashMap<>();

    public XenStoreEngine() {
        specialPerms.put(XsPaths.INTRODUCE_DOMAIN, XsPerms.ROOT_DEFAULT);
        specialPerms.put(XsPaths.RELEASE_DOMAIN, XsPerms.ROOT_DEFAULT);
        domains.getOrCreate(0);
        // DataTree makes the root by itself; charge it to its owner like every other node.
        domains.charge(null, tree.get(XsPaths.ROOT));
        Caller dom0 = new Caller(0, true, -1);
        List<WatchEvent> none = new ArrayList<>();
        try {
            // What a fresh C xenstored holds (tools/xenstored/core.c setup_structure).
            ops.write(new DirectView(tree, domains, none), dom0, "/tool/xenstored", new byte[0]);
        } catch (XenStoreException e) {
            throw new IllegalStateException(e);
        }
    }

    public void setTracer(Tracer tracer) {
        this.tracer = tracer == null ? Tracer.NONE : tracer;
    }

    public Tracer tracer() {
        return tracer;
    }

    /** Where introduced domains are connected (their rings) and dead domains reported; set by the host. */
    public void setDomainHooks(DomainHooks hooks) {
        this.hooks = hooks;
    }

    public DataTree tree() {
        return tree;
    }

    Control control() {
        return control;
    }

    /** Where CONTROL {@code log} and {@code logfile} switch and move the trace. */
    public void setLogSwitch(LogSwitch s) {
        control.setLogSwitch(s);
    }

    // ---- connection lifecycle ------------------------------------------------------------------------

    public Connection connect(ConnectionIo io, int domid, boolean privileged, String label) {
        Connection c = new Connection(nextConnectionId++, domid, privileged, label, io);
        connections.add(c);
        domains.getOrCreate(domid).connections++;
        return c;
    }

    /**
     * A guest's ring connection, whose watches and transactions the journal keeps. If the daemon restarted and
     * recovered this guest's connection, it is adopted: its watches are registered again and each fires once
     * (events queued in the old daemon may have been lost), its transactions stay open to end with EAGAIN,
     * and the replies to journaled requests past {@code reqCons} (the ring's consumer index) are kept to
     * answer those requests when they are read again.
     */
    public Connection connectGuestRing(ConnectionIo io, int domid, int reqCons) {
        Connection c = connect(io, domid, false, "ring");
        c.durable = true;
        StateLog.Parked p = parked.remove(domid);
        if (p == null) {
            if (state != null) {
                state.begin();
                state.connectionStarted(c);
                state.end(null, null);
            }
            return c;
        }
        Domain d = domains.getOrCreate(domid);
        for (String[] wt : p.watches.values()) {
            String raw = wt[0];
            String path = XsPaths.isSpecial(raw) ? raw : XsPaths.canonicalize(raw, domid);
            Watch w = new Watch(path, wt[1], XsPaths.isRelative(raw));
            c.watches.put(Connection.watchKey(path, wt[1]), w);
            watchIndex.add(c, w);
            d.watches++;
            d.watchMemory += w.memorySize();
            queueEvent(c, w, w.relative() ? raw : path);
        }
        for (int id : p.transactions) {
            Transaction tx = new Transaction(id, tree, domains, -1);
            tx.restored = true;
            c.transactions.put(id, tx);
            c.nextTransactionId = Math.max(c.nextTransactionId, id + 1);
        }
        for (Map.Entry<Integer, byte[]> r : p.replies.entrySet()) {
            int ahead = r.getKey() - reqCons;
            if (ahead > 0 && ahead <= 1024) {
                c.unpublished.put(r.getKey(), r.getValue());
                c.recovered.add(r.getKey());
            }
        }
        LOG.log(Level.INFO, "xenstored: domain {0}''s ring connection recovered: {1} watch(es), {2} open transaction(s), {3} request(s) to answer again",
                String.valueOf(domid), String.valueOf(p.watches.size()), String.valueOf(p.transactions.size()),
                String.valueOf(c.recovered.size()));
        return c;
    }

    /** The guest's ring consumer index moved to {@code reqCons}: replies to requests before it are seen. */
    public void published(Connection c, int reqCons) {
        if (c.unpublished.isEmpty()) return;
        var it = c.unpublished.keySet().iterator();
        while (it.hasNext()) {
            int end = it.next();
            if (reqCons - end >= 0) {
                it.remove();
                c.recovered.remove(end);
            } else {
                break;
            }
        }
    }

    // ---- durable state ----------------------------------------------------------------------------------

    /**
     * Opens (and first recovers from) the state directory: the snapshot and the journal after it are applied
     * to this fresh engine, a torn tail is cut; from now on every change is journaled. Call before serving.
     */
    public org.jxen.xenstored.state.Journal.Recovered openState(java.nio.file.Path dir, boolean fsync)
            throws java.io.IOException {
        return openState(dir, fsync, org.jxen.xenstored.state.Journal.Io.MMAP);
    }

    /** As {@link #openState(java.nio.file.Path, boolean)}, with the journal written by {@code io}. */
    public org.jxen.xenstored.state.Journal.Recovered openState(java.nio.file.Path dir, boolean fsync,
            org.jxen.xenstored.state.Journal.Io io) throws java.io.IOException {
        if (state != null) throw new IllegalStateException("state already open");
        StateRestore restore = new StateRestore(this, tree, domains, parked);
        if (java.nio.file.Files.exists(dir.resolve(org.jxen.xenstored.state.Journal.SNAPSHOT))) restore.snapshotStarts();
        org.jxen.xenstored.state.Journal.Recovered[] found = new org.jxen.xenstored.state.Journal.Recovered[1];
        org.jxen.xenstored.state.Journal j = org.jxen.xenstored.state.Journal.open(dir, fsync, io, restore, r -> found[0] = r);
        state = new StateLog(this, tree, j);
        tree.setChangeLog(state);
        // Connections of domains no longer introduced have nothing to come back to.
        parked.values().removeIf(p -> {
            Domain d = domains.get(p.domid);
            return d == null || !d.introduced;
        });
        // A snapshot was under way at the stop: fold its journal in now, before the next one renames over it.
        if (j.needsFold()) state.snapshotNow(parked);
        return found[0];
    }

    /** The journal, or null. */
    public org.jxen.xenstored.state.Journal journal() {
        return state == null ? null : state.journal();
    }

    /** Writes the journaled batches of this round (before any reply of the round leaves). */
    public void flushState() throws java.io.IOException {
        if (state != null) state.journal().flush();
    }

    /** Replaces snapshot and journal by a snapshot of the current state, in place when this returns. */
    public void snapshotState() throws java.io.IOException {
        if (state != null) state.snapshotNow(parked);
    }

    /**
     * Starts replacing snapshot and journal by a snapshot of the current state: the loop writes it, a
     * background thread makes it durable (Journal#snapshot). Nothing while the previous one is under way.
     */
    public void startSnapshot() throws java.io.IOException {
        if (state != null) state.snapshot(parked);
    }

    /** A whole-state dump (xenstore-migration.pandoc's stream) into {@code file}, as a snapshot is written. */
    public void dumpState(java.nio.file.Path file) throws java.io.IOException {
        StateLog log = state != null ? state : new StateLog(this, tree, null);
        org.jxen.xenstored.state.Journal.writeSnapshot(file, state == null ? 0 : state.journal().seq(),
                out -> log.dump(out, parked));
    }

    /**
     * After a restart: INTRODUCE's work again for every domain the state says was introduced (map its page,
     * bind its channel, attach its ring, which adopts its recovered connection). A domain that cannot be
     * attached (it died while the daemon was down) is released.
     */
    public void reattachIntroduced() {
        for (Domain d : List.copyOf(domains.all())) {
            if (!d.introduced) continue;
            try {
                hooks.introduced(d.domid, d.gfn, d.port);
            } catch (XenStoreException | RuntimeException e) {
                LOG.log(Level.WARNING, "xenstored: domain {0} cannot be attached again ({1}); releasing it", String.valueOf(d.domid), e.getMessage());
                releaseDomain(d.domid);
            }
        }
    }

    Integer domainFeature(int domid) {
        return domainFeatures.get(domid);
    }

    /** SETTINGS (StateLog.settingsText): replaces every setting with what the text says. */
    void applySettings(String text) {
        domains.global.copyFrom(QuotaSettings.defaults());
        specialPerms.clear();
        specialPerms.put(XsPaths.INTRODUCE_DOMAIN, XsPerms.ROOT_DEFAULT);
        specialPerms.put(XsPaths.RELEASE_DOMAIN, XsPerms.ROOT_DEFAULT);
        domainFeatures.clear();
        for (Domain d : domains.all()) {
            d.introduced = false;
            d.gfn = 0;
            d.port = 0;
            d.target = -1;
            d.shutdownNotified = false;
            d.overrides.copyFrom(QuotaSettings.unset());
        }
        for (String line : text.split("\n")) {
            String[] f = line.split(" ");
            switch (f[0]) {
                case "quota" -> domains.global.set(f[1], Integer.parseInt(f[2]));
                case "special" -> {
                    XsPerms perms = PermStrings.parse(List.of(f).subList(2, f.length));
                    if (perms != null) specialPerms.put(f[1], perms);
                }
                case "domain" -> {
                    Domain d = domains.getOrCreate(Integer.parseInt(f[1]));
                    for (int i = 2; i < f.length; i++) {
                        int eq = f[i].indexOf('=');
                        String k = f[i].substring(0, eq), v = f[i].substring(eq + 1);
                        switch (k) {
                            case "introduced" -> d.introduced = v.equals("1");
                            case "gfn" -> d.gfn = Long.parseLong(v);
                            case "port" -> d.port = Integer.parseInt(v);
                            case "target" -> d.target = Integer.parseInt(v);
                            case "features" -> {
                                if (!v.equals("-")) domainFeatures.put(d.domid, Integer.parseInt(v));
                            }
                            case "notified" -> d.shutdownNotified = v.equals("1");
                            default -> {
                                if (k.startsWith("quota.")) d.overrides.set(k.substring(6), Integer.parseInt(v));
                            }
                        }
                    }
                }
                default -> {
                }
            }
        }
    }

    /**
     * CONTROL {@code live-update}: the daemon's part (what to restart with, and when); the engine only checks
     * who may ask. Without one set, the daemon cannot restart itself and says so.
     */
    public interface LiveUpdate {
        LiveUpdate NONE = (c, args) -> Payloads.raw("live-update needs a supervisor (jxen host runs xenstored under one)");

        byte[] run(Connection c, List<String> args) throws XenStoreException;
    }

    private LiveUpdate liveUpdate = LiveUpdate.NONE;

    public void setLiveUpdate(LiveUpdate l) {
        liveUpdate = l == null ? LiveUpdate.NONE : l;
    }

    LiveUpdate liveUpdate() {
        return liveUpdate;
    }

    /** Open transactions on connections that do not survive a restart (sockets): live update's BUSY. */
    public int volatileTransactions() {
        int n = 0;
        for (Connection c : connections) if (!c.durable) n += c.transactions.size();
        return n;
    }

    /** Marks the settings changed in the current batch. */
    private void settingsChanged() {
        if (state != null) state.settingsChanged();
    }

    /**
     * The daemon stops: closes every connection that does not outlive it (sockets, in-process), so their clients
     * see the end at once. Guests' ring connections are left as the journal has them, for the next daemon.
     */
    public void closeVolatileConnections() {
        for (Connection c : List.copyOf(connections)) if (!c.durable) close(c);
    }

    /** The peer went away: forget its watches and transactions. No @releaseDomain (XSA-325). */
    public void disconnect(Connection c) {
        if (c.closed) return;
        c.closed = true;
        connections.remove(c);
        if (state != null && c.durable) {
            state.begin();
            dropWatchesAndTransactions(c);
            boolean current = connections.stream().noneMatch(o -> o.durable && o.domid == c.domid);
            if (current) state.connectionGone(c);
            state.end(null, null);
        } else {
            dropWatchesAndTransactions(c);
        }
        c.output.clear();
        c.queuedEvents.clear();
        Domain d = domains.get(c.domid);
        if (d != null) {
            d.connections--;
            domains.forgetIfUnused(d);
        }
    }

    private void close(Connection c) {
        if (c.closed) return;
        disconnect(c);
        c.io.close(c);
    }

    /**
     * Whether the transport should hand this connection more requests now. An unprivileged domain may have
     * at most its "outstanding" quota of unread replies; then its input waits (C xenstored stops reading).
     */
    public boolean canAcceptInput(Connection c) {
        if (c.closed) return false;
        int limit = c.privileged ? PRIVILEGED_REPLY_BACKLOG : domains.limit(c.domid, Quota.OUTSTANDING);
        return c.queuedReplies < limit;
    }

    /** Next frame to send to the peer, or null when its queue is empty. */
    public XsMessage nextOutput(Connection c) {
        XsMessage m = c.output.poll();
        if (m == null) return null;
        if (c.isEvent(m)) {
            c.queuedEventBytes -= m.frameSize();
            if (!c.queuedEvents.isEmpty()) c.queuedEvents.remove(new String(m.payload(), StandardCharsets.ISO_8859_1));
        }
        else c.queuedReplies--;
        return m;
    }

    public boolean hasOutput(Connection c) {
        return !c.output.isEmpty();
    }

    public List<Connection> connections() {
        return List.copyOf(connections);
    }

    // ---- requests ------------------------------------------------------------------------------------

    /** Processes one request: queues its reply, then the watch events it caused. */
    public void handle(Connection c, XsMessage request) {
        if (c.closed) return;
        tracer.trace(Tracer.Direction.IN, c, request);
        if (c.hasRequestEnd && c.recovered.remove(c.requestEnd)) {
            // Applied and journaled before the daemon restarted, not yet seen consumed by the guest: answer it again.
            c.hasRequestEnd = false;
            byte[] frame = c.unpublished.get(c.requestEnd);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(frame).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            int type = b.getInt(), reqId = b.getInt(), txId = b.getInt(), len = b.getInt();
            byte[] payload = new byte[len];
            b.get(payload);
            queue(c, new XsMessage(type, reqId, txId, payload));
            return;
        }
        if (state != null) state.begin();
        XsMessage reply = null;
        try {
            List<WatchEvent> events = new ArrayList<>(2);
            try {
                reply = request.reply(dispatch(c, request, events));
            } catch (XenStoreException e) {
                reply = XsMessage.error(request, e.error());
                events.clear();
            }
            if (reply.length() > XsWire.PAYLOAD_MAX) reply = XsMessage.error(request, XsError.E2BIG);
            queue(c, reply);
            for (WatchEvent ev : events) fire(ev);
            Runnable after = deferred;
            deferred = null;
            if (after != null) after.run();
        } finally {
            // Whatever the request changed is journaled before its reply can leave (the loop's output barrier).
            if (state != null) state.end(c, reply);
        }
    }

    /** Work that must follow the reply: a new watch's first event, a release that closes connections. */
    private Runnable deferred;

    private byte[] dispatch(Connection c, XsMessage m, List<WatchEvent> events) throws XenStoreException {
        XsType type = XsType.of(m.type());
        if (type == null || type == XsType.ERROR || type == XsType.WATCH_EVENT || type == XsType.RESTRICT) {
            throw new ErrorReply(XsError.ENOSYS);
        }
        if (!c.privileged && PRIVILEGED.contains(type)) throw new ErrorReply(XsError.EACCES);
        Transaction tx = null;
        if (!NO_TRANSACTION.contains(type) && m.txId() != 0) {
            tx = c.transactions.get(m.txId());
            if (tx == null) throw new ErrorReply(XsError.ENOENT, "no transaction " + m.txId());
        }
        Caller caller = caller(c);
        StoreView view = tx != null ? tx : new DirectView(tree, domains, events);
        Op op = opByType[type.ordinal()];
        if (op == null) throw new ErrorReply(XsError.ENOSYS);
        return op.run(c, caller, view, tx, m.payload(), events);
    }

    /** What one request type does, given its caller, view and payload: the reply's payload. */
    @FunctionalInterface
    private interface Op {
        byte[] run(Connection c, Caller caller, StoreView view, Transaction tx, byte[] p, List<WatchEvent> events)
                throws XenStoreException;
    }

    /**
     * The request types' handlers, by {@link XsType#ordinal}. A table rather than one switch: a switch whose arms
     * call every handler made {@link #dispatch} one method that the JIT's C2 compiled with all of them inlined,
     * 250-350 ms of compiler time on a host's cold start and again when a request type it had not seen arrived;
     * through the table's megamorphic call each handler is compiled on its own, once.
     */
    private final Op[] opByType = opTable();

    private Op[] opTable() {
        Op[] t = new Op[XsType.values().length];
        t[XsType.READ.ordinal()] = (c, caller, view, tx, p, events) -> ops.read(view, caller, path(caller, oneArg(p)));
        t[XsType.WRITE.ordinal()] = (c, caller, view, tx, p, events) -> {
            int nul = Payloads.firstNul(p);
            if (nul < 0) throw new ErrorReply(XsError.EINVAL);
            String path = path(caller, new String(p, 0, nul, StandardCharsets.ISO_8859_1));
            ops.write(view, caller, path, java.util.Arrays.copyOfRange(p, nul + 1, p.length));
            return Payloads.OK;
        };
        t[XsType.MKDIR.ordinal()] = (c, caller, view, tx, p, events) -> {
            ops.mkdir(view, caller, path(caller, oneArg(p)));
            return Payloads.OK;
        };
        t[XsType.RM.ordinal()] = (c, caller, view, tx, p, events) -> {
            ops.rm(view, caller, path(caller, oneArg(p)));
            return Payloads.OK;
        };
        t[XsType.DIRECTORY.ordinal()] = (c, caller, view, tx, p, events) -> ops.directory(view, caller, path(caller, oneArg(p)));
        t[XsType.DIRECTORY_PART.ordinal()] = (c, caller, view, tx, p, events) -> {
            if (Payloads.countNuls(p) != 2 || !Payloads.endsWithNul(p)) throw new ErrorReply(XsError.EINVAL);
            List<String> a = Payloads.splitRaw(p);
            return ops.directoryPart(view, caller, path(caller, a.get(0)), atoi(a.get(1)));
        };
        t[XsType.GET_PERMS.ordinal()] = (c, caller, view, tx, p, events) -> getPerms(view, caller, oneArg(p));
        t[XsType.SET_PERMS.ordinal()] = (c, caller, view, tx, p, events) -> setPerms(view, caller, p);
        t[XsType.WATCH.ordinal()] = (c, caller, view, tx, p, events) -> watch(c, caller, p);
        t[XsType.UNWATCH.ordinal()] = (c, caller, view, tx, p, events) -> unwatch(c, caller, p);
        t[XsType.TRANSACTION_START.ordinal()] = (c, caller, view, tx, p, events) -> transactionStart(c, tx);
        t[XsType.TRANSACTION_END.ordinal()] = (c, caller, view, tx, p, events) -> transactionEnd(c, tx, p, events);
        t[XsType.INTRODUCE.ordinal()] = (c, caller, view, tx, p, events) -> introduce(p, events);
        t[XsType.RELEASE.ordinal()] = (c, caller, view, tx, p, events) -> release(domainArg(oneArg(p)));
        t[XsType.RESUME.ordinal()] = (c, caller, view, tx, p, events) -> {
            // onearg_domain: atoi, 0 is EINVAL, a domain not introduced ENOENT.
            int domid = cAtoi(oneArg(p));
            if (domid == 0) throw new ErrorReply(XsError.EINVAL);
            requireIntroduced(domid).shutdownNotified = false;
            settingsChanged();
            return Payloads.OK;
        };
        t[XsType.SET_TARGET.ordinal()] = (c, caller, view, tx, p, events) -> setTarget(p);
        t[XsType.IS_DOMAIN_INTRODUCED.ordinal()] = (c, caller, view, tx, p, events) -> {
            // C: atoi, so "x" is domain 0; DOMID_SELF is the caller itself, always there.
            int domid = cAtoi(oneArg(p));
            Domain d = domains.get(domid);
            return Payloads.raw(domid == 0 || domid == DOMID_SELF || (d != null && d.introduced) ? "T" : "F");
        };
        t[XsType.GET_DOMAIN_PATH.ordinal()] = (c, caller, view, tx, p, events) -> Payloads.raw(XsPaths.domainPath(domidArg(oneArg(p))));
        t[XsType.RESET_WATCHES.ordinal()] = (c, caller, view, tx, p, events) -> {
            dropWatchesAndTransactions(c);
            return Payloads.OK;
        };
        t[XsType.GET_FEATURE.ordinal()] = (c, caller, view, tx, p, events) -> getFeature(p);
        t[XsType.SET_FEATURE.ordinal()] = (c, caller, view, tx, p, events) -> setFeature(p);
        t[XsType.GET_QUOTA.ordinal()] = (c, caller, view, tx, p, events) -> getQuota(p);
        t[XsType.SET_QUOTA.ordinal()] = (c, caller, view, tx, p, events) -> setQuota(p);
        t[XsType.CONTROL.ordinal()] = (c, caller, view, tx, p, events) -> {
            settingsChanged(); // quota set, quota-soft set
            return control.run(c, p);
        };
        // ERROR, WATCH_EVENT and RESTRICT stay null: ENOSYS.
        return t;
    }

    Caller caller(Connection c) {
        Domain d = domains.get(c.domid);
        return new Caller(c.domid, c.privileged, d == null ? -1 : d.target);
    }

    private String path(Caller caller, String raw) throws XenStoreException {
        return ops.resolve(caller, raw);
    }

    /** A single-argument payload: exactly one NUL, at its end. */
    static String oneArg(byte[] p) throws XenStoreException {
        if (p.length == 0 || Payloads.firstNul(p) != p.length - 1) throw new ErrorReply(XsError.EINVAL);
        return new String(p, 0, p.length - 1, StandardCharsets.ISO_8859_1);
    }

    /** The first {@code n} NUL-terminated strings (C's get_strings); fewer is EINVAL. */
    static List<String> args(byte[] p, int n) throws XenStoreException {
        List<String> all = Payloads.splitRaw(p);
        int terminated = Payloads.countNuls(p);
        if (terminated < n) throw new ErrorReply(XsError.EINVAL);
        return all.subList(0, n);
    }

    /** C's atoi: leading digits, 0 if none. */
    static int atoi(String s) {
        long v = 0;
        int i = 0;
        boolean neg = false;
        if (i < s.length() && (s.charAt(i) == '-' || s.charAt(i) == '+')) neg = s.charAt(i++) == '-';
        while (i < s.length() && Character.isDigit(s.charAt(i)) && v < Integer.MAX_VALUE) v = v * 10 + (s.charAt(i++) - '0');
        return (int) (neg ? -v : Math.min(v, Integer.MAX_VALUE));
    }

    /**
     * glibc's atoi: optional blanks and sign, decimal digits while they last (0 if none), the long result
     * cut to 32 bits as C's int conversion does.
     */
    static int cAtoi(String s) {
        int i = 0, n = s.length();
        while (i < n && (s.charAt(i) == ' ' || (s.charAt(i) >= '\t' && s.charAt(i) <= '\r'))) i++;
        boolean neg = false;
        if (i < n && (s.charAt(i) == '-' || s.charAt(i) == '+')) neg = s.charAt(i++) == '-';
        long v = 0;
        boolean overflow = false;
        for (; i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9'; i++) {
            int digit = s.charAt(i) - '0';
            if (v > (Long.MAX_VALUE - digit) / 10) overflow = true;
            else v = v * 10 + digit;
        }
        // strtol saturates at LONG_MAX / LONG_MIN, which (int) truncates to -1 / 0.
        if (overflow) return neg ? 0 : -1;
        return (int) (neg ? -v : v);
    }

    /** A decimal domain id 0..65535; anything else is EINVAL. */
    static int domidArg(String s) throws XenStoreException {
        if (s.isEmpty() || s.length() > 5) throw new ErrorReply(XsError.EINVAL, "bad domid " + s);
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) throw new ErrorReply(XsError.EINVAL, "bad domid " + s);
        }
        int v = Integer.parseInt(s);
        if (v > 0xffff) throw new ErrorReply(XsError.EINVAL, "bad domid " + s);
        return v;
    }

    /** A real guest domain id: not dom0, not a reserved DOMID_* value. */
    private static int domainArg(String s) throws XenStoreException {
        int domid = domidArg(s);
        if (domid == 0 || domid >= DOMID_FIRST_RESERVED) throw new ErrorReply(XsError.EINVAL, "bad domid " + s);
        return domid;
    }

    // ---- permissions -----------------------------------------------------------------------------------

    private byte[] getPerms(StoreView view, Caller caller, String raw) throws XenStoreException {
        if (XsPaths.isSpecial(raw)) {
            XsPerms perms = specialPerms.get(raw);
            if (perms == null) throw new ErrorReply(XsError.ENOENT);
            if (!caller.canRead(perms)) throw new ErrorReply(XsError.EACCES);
            return perms.toPayload();
        }
        return ops.getPerms(view, caller, path(caller, raw)).toPayload();
    }

    /**
     * do_set_perms' order: at least a path and one permission (EINVAL); for an unprivileged caller no more
     * entries than its permissions quota (ENOSPC); every string well-formed (EINVAL); then the node.
     */
    private byte[] setPerms(StoreView view, Caller caller, byte[] p) throws XenStoreException {
        int n = Payloads.countNuls(p);
        if (n < 2) throw new ErrorReply(XsError.EINVAL);
        if (!caller.privileged() && n - 1 > domains.limit(caller.domid(), Quota.NODE_PERMISSIONS)) {
            throw new ErrorReply(XsError.ENOSPC, "permissions quota");
        }
        List<String> a = Payloads.splitRaw(p).subList(0, n);
        XsPerms perms = PermStrings.parse(a.subList(1, n));
        if (perms == null) throw new ErrorReply(XsError.EINVAL, "bad permissions");
        // C marks entries naming a domain the hypervisor does not know XS_PERM_IGNORE and refuses an owner so
        // marked with ENOENT. We have no hypervisor to ask, so any domid that could be a domain counts as
        // existing; one that never can (a DOMID_* value or beyond, as a u32) is such an owner.
        if (Integer.compareUnsigned(perms.owner(), DOMID_FIRST_RESERVED) >= 0) {
            throw new ErrorReply(XsError.ENOENT, "owner " + perms.owner() + " is no domain");
        }
        String raw = a.getFirst();
        if (XsPaths.isSpecial(raw)) {
            XsPerms old = specialPerms.get(raw);
            if (old == null) throw new ErrorReply(XsError.ENOENT);
            int need = Caller.WRITE | Caller.OWNER;
            if ((caller.permissions(old) & need) != need) throw new ErrorReply(XsError.EACCES);
            specialPerms.put(raw, perms);
            settingsChanged();
            return Payloads.OK;
        }
        ops.setPerms(view, caller, path(caller, raw), perms);
        return Payloads.OK;
    }

    // ---- watches ---------------------------------------------------------------------------------------

    private String watchPath(Caller caller, String raw) throws XenStoreException {
        if (XsPaths.isSpecial(raw)) {
            if (raw.length() > XsWire.REL_PATH_MAX) throw new ErrorReply(XsError.EINVAL);
            return raw;
        }
        return path(caller, raw);
    }

    private byte[] watch(Connection c, Caller caller, byte[] p) throws XenStoreException {
        List<String> a = args(p, 2);
        String raw = a.get(0), token = a.get(1);
        String path = watchPath(caller, raw);
        String key = Connection.watchKey(path, token);
        if (c.watches.containsKey(key)) throw new ErrorReply(XsError.EEXIST);
        Watch w = new Watch(path, token, XsPaths.isRelative(raw));
        Domain d = domains.getOrCreate(c.domid);
        if (!c.privileged) {
            if (d.watches >= domains.limit(c.domid, Quota.WATCHES)) throw new ErrorReply(XsError.ENOSPC);
            if (d.memory() + w.memorySize() > domains.limit(c.domid, Quota.MEMORY)) {
                throw new ErrorReply(XsError.ENOSPC);
            }
        }
        c.watches.put(key, w);
        watchIndex.add(c, w);
        d.watches++;
        d.watchMemory += w.memorySize();
        if (state != null && c.durable) state.watch(c, w, false);
        // The initial event goes out after the OK (xenstore.txt: "triggered once straight away").
        deferred = () -> queueEvent(c, w, w.relative() ? raw : path);
        return Payloads.OK;
    }

    private byte[] unwatch(Connection c, Caller caller, byte[] p) throws XenStoreException {
        List<String> a = args(p, 2);
        // C's do_unwatch only canonicalizes: a malformed path is no registered watch, so ENOENT, not EINVAL.
        String raw = a.get(0);
        String path = XsPaths.isSpecial(raw) ? raw : XsPaths.canonicalize(raw, caller.domid());
        Watch w = c.watches.remove(Connection.watchKey(path, a.get(1)));
        if (w == null) throw new ErrorReply(XsError.ENOENT);
        forgetWatch(c, w);
        return Payloads.OK;
    }

    private void forgetWatch(Connection c, Watch w) {
        if (state != null && c.durable) state.watch(c, w, true);
        Domain d = domains.get(c.domid);
        if (d != null) {
            d.watches--;
            d.watchMemory -= w.memorySize();
        }
        watchIndex.remove(c, w);
    }

    private void dropWatchesAndTransactions(Connection c) {
        for (Watch w : List.copyOf(c.watches.values())) {
            c.watches.remove(Connection.watchKey(w.path(), w.token()));
            forgetWatch(c, w);
        }
        if (state != null && c.durable) for (Integer id : c.transactions.keySet()) state.transaction(c, id, true);
        c.transactions.clear();
    }

    /** Sends the event to every watch it matches, as far as the watcher may read the node. */
    void fire(WatchEvent ev) {
        if (watchIndex.isEmpty()) return;
        if (ev.perms() == null) {
            deliver(watchIndex.on(ev.path()), ev, null);
            return;
        }
        deliver(watchIndex.atOrAbove(ev.path()), ev, ev.path());
        if (ev.recursive() && !ev.removedBelow().isEmpty()) deliverRemovedBelow(ev);
    }

    /**
     * A removal also ends what was watched below it: a watch on a node that was removed hears of its own
     * path (as C's delnode_sub fires exactly on each removed node); one on a node that never existed hears
     * nothing, since nothing there changed (xenstore.txt: events are for modified paths).
     */
    private void deliverRemovedBelow(WatchEvent ev) {
        for (WatchIndex.Entry e : watchIndex.below(ev.path())) {
            Watch w = e.watch();
            XsPerms perms = ev.removedBelow().get(w.path());
            if (perms == null) continue;
            String parent = XsPaths.parent(w.path());
            XsPerms parentPerms = parent.equals(ev.path()) ? ev.perms() : ev.removedBelow().get(parent);
            deliver(List.of(e), new WatchEvent(w.path(), false, perms, parentPerms), null);
        }
    }

    /** Queues the event for each entry; {@code path} null means "the watch's own path". */
    private void deliver(List<WatchIndex.Entry> entries, WatchEvent ev, String path) {
        for (WatchIndex.Entry e : entries) {
            Connection c = e.connection();
            Watch w = e.watch();
            if (c.closed || !mayNotify(caller(c), ev)) continue;
            String evPath = path != null ? path : w.path();
            queueEvent(c, w, w.relative() ? XsPaths.relativize(evPath, c.domid) : evPath);
        }
    }

    private boolean mayNotify(Caller caller, WatchEvent ev) {
        if (caller.privileged()) return true;
        if (ev.perms() == null) {
            XsPerms perms = specialPerms.get(ev.path());
            return perms != null && caller.canRead(perms);
        }
        return caller.canRead(ev.perms()) || (ev.alsoReadableVia() != null && caller.canRead(ev.alsoReadableVia()));
    }

    private void queueEvent(Connection c, Watch w, String path) {
        byte[] payload = Payloads.raw(path, w.token());
        XsMessage event = XsMessage.of(XsType.WATCH_EVENT, 0, 0, payload);
        long limit = c.privileged ? EVENT_QUEUE_LIMIT_PRIVILEGED : EVENT_QUEUE_LIMIT_UNPRIVILEGED;
        // Oversized events are never sent (XSA-324); a reader too slow to take its events loses new ones
        // rather than making the daemon buffer without bound (XSA-326).
        // C's send_event drops an event identical to one still queued for the connection (special events
        // excepted): two watches with one token that match one change give one event, not two.
        String key = path.startsWith("@") ? null : new String(payload, StandardCharsets.ISO_8859_1);
        if (key != null && c.queuedEvents.contains(key)) {
            tracer.trace(Tracer.Direction.DROP, c, event);
            return;
        }
        if (payload.length > XsWire.PAYLOAD_MAX || c.queuedEventBytes + event.frameSize() > limit) {
            c.droppedEvents++;
            tracer.trace(Tracer.Direction.DROP, c, event);
            if (c.droppedEvents == 1 || Long.bitCount(c.droppedEvents) == 1) {
                LOG.log(Level.WARNING, "{0}: dropped {1} watch event(s)", c, String.valueOf(c.droppedEvents));
            }
            return;
        }
        c.queuedEventBytes += event.frameSize();
        if (key != null) c.queuedEvents.add(key);
        c.output.add(event);
        tracer.trace(Tracer.Direction.EVENT, c, event);
        c.io.outputReady(c);
    }

    private void queue(Connection c, XsMessage reply) {
        c.queuedReplies++;
        c.output.add(reply);
        tracer.trace(Tracer.Direction.OUT, c, reply);
        c.io.outputReady(c);
    }

    // ---- transactions ----------------------------------------------------------------------------------

    private byte[] transactionStart(Connection c, Transaction current) throws XenStoreException {
        if (current != null) throw new ErrorReply(XsError.EBUSY);
        if (!c.privileged && c.transactions.size() >= domains.limit(c.domid, Quota.TRANSACTIONS)) {
            throw new ErrorReply(XsError.ENOSPC);
        }
        int id;
        do {
            id = c.nextTransactionId++;
        } while (id == 0 || c.transactions.containsKey(id));
        int nodeLimit = c.privileged ? -1 : domains.limit(c.domid, Quota.TRANSACTION_NODES);
        c.transactions.put(id, new Transaction(id, tree, domains, nodeLimit));
        if (state != null && c.durable) state.transaction(c, id, false);
        return Payloads.raw(Integer.toUnsignedString(id));
    }

    private byte[] transactionEnd(Connection c, Transaction tx, byte[] p, List<WatchEvent> events)
            throws XenStoreException {
        // The argument is checked first, as do_transaction_end does: "X" with tx_id 0 is EINVAL, not ENOENT.
        // (An unknown non-zero tx_id was already ENOENT in dispatch.)
        String arg = oneArg(p);
        if (!arg.equals("T") && !arg.equals("F")) throw new ErrorReply(XsError.EINVAL);
        if (tx == null) throw new ErrorReply(XsError.ENOENT);
        c.transactions.remove(tx.id);
        if (state != null && c.durable) state.transaction(c, tx.id, true);
        if (arg.equals("T")) events.addAll(tx.commit());
        return Payloads.OK;
    }

    // ---- domains ---------------------------------------------------------------------------------------

    private byte[] introduce(byte[] p, List<WatchEvent> events) throws XenStoreException {
        List<String> a = args(p, 3);
        int domid = domainArg(a.get(0));
        long gfn = parseLong(a.get(1));
        int port = (int) parseLong(a.get(2));
        Domain d = domains.getOrCreate(domid);
        if (!d.introduced) {
            hooks.introduced(domid, gfn, port);
            d.introduced = true;
            d.gfn = gfn;
            d.port = port;
        } else if (d.gfn == gfn) {
            // Re-introduction with the same page re-binds the event channel (xenstore.txt INTRODUCE).
            d.port = port;
            hooks.introduced(domid, gfn, port);
        } else {
            throw new ErrorReply(XsError.EINVAL, "domain " + domid + " already introduced");
        }
        settingsChanged();
        events.add(WatchEvent.special(XsPaths.INTRODUCE_DOMAIN));
        return Payloads.OK;
    }

    private static long parseLong(String s) throws XenStoreException {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new ErrorReply(XsError.EINVAL, "bad number " + s);
        }
    }

    private Domain requireIntroduced(int domid) throws XenStoreException {
        Domain d = domains.get(domid);
        if (d == null || !d.introduced) throw new ErrorReply(XsError.ENOENT, "domain " + domid + " not introduced");
        return d;
    }

    private byte[] release(int domid) throws XenStoreException {
        requireIntroduced(domid);
        deferred = () -> releaseDomain(domid);
        return Payloads.OK;
    }

    /**
     * A domain is gone (RELEASE, or the hypervisor reported its death): close its connections (dropping
     * their watches first, so its own watches see nothing of the cleanup), remove every node it owns and
     * every permission entry naming it, then fire @releaseDomain. Safe to call twice (XSA-425).
     */
    public void releaseDomain(int domid) {
        Domain d = domains.get(domid);
        if (d == null || domid == 0) return;
        if (state != null) state.begin();
        try {
            release(d, domid);
        } finally {
            if (state != null) state.end(null, null);
        }
    }

    private void release(Domain d, int domid) {
        for (Connection c : List.copyOf(connections)) {
            if (c.domid == domid && !c.privileged) close(c);
        }
        if (d.introduced) hooks.released(domid);
        List<WatchEvent> events = new ArrayList<>();
        DirectView view = new DirectView(tree, domains, events);
        Caller dom0 = new Caller(0, true, -1);
        List<String> owned = new ArrayList<>();
        tree.walk(n -> {
            if (n.perms.owner() == domid && !n.path.equals("/")) {
                boolean underOwned = false;
                for (String o : owned) if (XsPaths.isChildOf(n.path, o)) underOwned = true;
                if (!underOwned) owned.add(n.path);
            }
        });
        for (String path : owned) {
            try {
                ops.rm(view, dom0, path);
            } catch (XenStoreException e) {
                LOG.log(Level.ERROR, "removing orphaned node {0}: {1}", path, e.error());
            }
        }
        StoreOps.dropPermsNaming(tree, domains, domid);
        specialPerms.replaceAll((name, perms) -> {
            XsPerms without = perms.without(domid);
            return without == null ? perms : without;
        });
        for (Domain other : domains.all()) if (other.target == domid) other.target = -1;
        domains.remove(domid);
        domainFeatures.remove(domid);
        parked.remove(domid);
        settingsChanged();
        for (WatchEvent ev : events) fire(ev);
        fire(WatchEvent.special(XsPaths.RELEASE_DOMAIN));
    }

    /**
     * The hypervisor says an introduced domain has shut down but is not gone yet (VIRQ_DOM_EXC): watchers of
     * @releaseDomain hear of it once, until RESUME, as C xenstored's domain_cleanup does.
     */
    public void domainShutdown(int domid) {
        Domain d = domains.get(domid);
        if (d == null || !d.introduced || d.shutdownNotified) return;
        d.shutdownNotified = true;
        if (state != null) {
            state.begin();
            settingsChanged();
            state.end(null, null);
        }
        fire(WatchEvent.special(XsPaths.RELEASE_DOMAIN));
    }

    /** Introduced guest domains, for the host's periodic or VIRQ-driven check of which ones died. */
    public List<Integer> introducedDomains() {
        return domains.all().stream().filter(d -> d.introduced).map(d -> d.domid).toList();
    }

    private byte[] setTarget(byte[] p) throws XenStoreException {
        List<String> a = args(p, 2);
        int domid = domainArg(a.get(0));
        int target = domainArg(a.get(1));
        Domain d = knownDomain(domid);
        knownDomain(target);
        d.target = target;
        settingsChanged();
        return Payloads.OK;
    }

    /** A domain that was introduced or has a connection. */
    private Domain knownDomain(int domid) throws XenStoreException {
        Domain d = domains.get(domid);
        if (d == null || !(d.introduced || d.connections > 0)) throw new ErrorReply(XsError.ENOENT);
        return d;
    }

    private byte[] getFeature(byte[] p) throws XenStoreException {
        List<String> a = Payloads.splitRaw(p);
        if (Payloads.countNuls(p) == 0 || a.isEmpty() || a.getFirst().isEmpty()) {
            return Payloads.raw(Integer.toString(SERVER_FEATURES));
        }
        int domid = domidArg(a.getFirst());
        knownDomain(domid);
        return Payloads.raw(Integer.toString(domainFeatures.getOrDefault(domid, SERVER_FEATURES)));
    }

    private byte[] setFeature(byte[] p) throws XenStoreException {
        List<String> a = args(p, 2);
        int domid = domidArg(a.get(0));
        knownDomain(domid);
        domainFeatures.put(domid, atoi(a.get(1)) & SERVER_FEATURES);
        settingsChanged();
        return Payloads.OK;
    }

    /** Features a domain's ring may use. */
    public int featuresOf(int domid) {
        return domainFeatures.getOrDefault(domid, SERVER_FEATURES);
    }

    private byte[] getQuota(byte[] p) throws XenStoreException {
        List<String> a = Payloads.splitRaw(p).subList(0, Payloads.countNuls(p));
        if (a.size() > 2) throw new ErrorReply(XsError.EINVAL);
        if (a.isEmpty()) {
            StringBuilder names = new StringBuilder();
            for (Quota q : Quota.values()) {
                if (!names.isEmpty()) names.append(' ');
                names.append(q.wireName);
                if (q == Quota.MEMORY) names.append(' ').append(Quota.SOFT_PREFIX).append(q.wireName);
            }
            return Payloads.raw(names.toString());
        }
        Integer v;
        if (a.size() == 1) {
            v = domains.global.get(a.getFirst());
        } else {
            int domid = domidArg(a.get(0));
            knownDomain(domid);
            String name = a.get(1);
            Integer own = domains.getOrCreate(domid).overrides.get(name);
            v = own == null ? null : own != QuotaSettings.UNSET ? own : domains.global.get(name);
        }
        if (v == null) throw new ErrorReply(XsError.EINVAL, "unknown quota");
        return Payloads.raw(Integer.toUnsignedString(v));
    }

    private byte[] setQuota(byte[] p) throws XenStoreException {
        List<String> a = Payloads.splitRaw(p).subList(0, Payloads.countNuls(p));
        if (a.size() < 2 || a.size() > 3) throw new ErrorReply(XsError.EINVAL);
        QuotaSettings target;
        String name, value;
        if (a.size() == 2) {
            target = domains.global;
            name = a.get(0);
            value = a.get(1);
        } else {
            int domid = domidArg(a.get(0));
            knownDomain(domid);
            target = domains.getOrCreate(domid).overrides;
            name = a.get(1);
            value = a.get(2);
        }
        if (!target.set(name, atoi(value))) throw new ErrorReply(XsError.EINVAL, "unknown quota");
        settingsChanged();
        return Payloads.OK;
    }

    // ---- facts for CONTROL, tests and tools -------------------------------------------------------------

    Domains domains() {
        return domains;
    }

    Map<String, XsPerms> specialPerms() {
        return specialPerms;
    }

    /** Current use of a quota by a domain, for {@code xenstore-control quota <domid>}. */
    public long usage(int domid, Quota q) {
        Domain d = domains.get(domid);
        if (d == null) return 0;
        return switch (q) {
            case NODES -> d.nodes;
            case WATCHES -> d.watches;
            case MEMORY -> d.memory();
            case OUTSTANDING -> connections.stream().filter(c -> c.domid == domid).mapToLong(c -> c.queuedReplies).sum();
            case TRANSACTIONS -> connections.stream().filter(c -> c.domid == domid).mapToLong(c -> c.transactions.size()).sum();
            default -> 0;
        };
    }

    /**
     * Tree and accounting consistency (CONTROL check): every child listed exists, every node is listed by its
     * parent, and per-domain node counts match the tree. Returns the problems found (empty when sound).
     */
    public List<String> check() {
        List<String> problems = new ArrayList<>();
        Map<Integer, long[]> counted = new HashMap<>();
        for (Node n : tree.view().values()) {
            for (String child : n.children) {
                if (tree.get(n.childPath(child)) == null) problems.add(n.path + " lists missing child " + child);
            }
            String parent = XsPaths.parent(n.path);
            if (parent != null) {
                Node pn = tree.get(parent);
                if (pn == null || !pn.hasChild(XsPaths.basename(n.path))) problems.add(n.path + " is not listed by its parent");
            }
            long[] c = counted.computeIfAbsent(n.perms.owner(), k -> new long[2]);
            c[0]++;
            c[1] += n.memorySize();
        }
        for (Domain d : domains.all()) {
            long[] c = counted.getOrDefault(d.domid, new long[2]);
            if (c[0] != d.nodes) problems.add("domain " + d.domid + " charged " + d.nodes + " nodes, owns " + c[0]);
            if (c[1] != d.nodeMemory) problems.add("domain " + d.domid + " charged " + d.nodeMemory + " bytes, owns " + c[1]);
        }
        for (Map.Entry<Integer, long[]> e : counted.entrySet()) {
            if (domains.get(e.getKey()) == null) problems.add("domain " + e.getKey() + " owns nodes but has no record");
        }
        return problems;
    }
}
