package org.jxen.xenstore.client;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsChannel;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.XsType;

/**
 * A XenStore client over one connection (libxenstore's role). Unlike libxenstore, which keeps one request in
 * flight with req_id 0, many threads may have requests outstanding at once: each gets its own req_id and
 * replies are matched to requests, so the daemon may answer in any order. Replies are matched by a reader
 * thread, or, on a channel that pushes (a guest's ring), by the channel's event handler. Watch events go to the
 * registered callbacks on a separate dispatcher thread, in arrival order, or, for {@link #watchDirect}, to the
 * callback on the delivering thread itself.
 */
public final class XsClient implements AutoCloseable {
    /** tx_id of requests outside a transaction (XBT_NULL). */
    public static final int NO_TX = 0;
    /** How often {@link #transaction} re-runs a body whose commit conflicted. */
    public static final int MAX_TRANSACTION_ATTEMPTS = 64;

    /** A transaction body; it may run several times, so it must not have effects outside the store. */
    @FunctionalInterface
    public interface TxBody<T> {
        T run(Tx tx) throws IOException;
    }

    /** {@code direct}: the callback runs on the delivering thread instead of the dispatcher (see watchDirect). */
    private record Watch(String path, String token, XsWatchCallback callback, boolean direct) {}

    /** A way to open the connection again after the daemon went away (null: the client ends with it). */
    @FunctionalInterface
    public interface Reconnector {
        XsChannel open() throws IOException;
    }

    /** How long a reconnecting client keeps trying before it gives up and fails everything. */
    static final long RECONNECT_WINDOW_MS = 60_000;

    private volatile XsChannel channel;
    private final Reconnector reconnector;
    /** Requests sent and not answered: kept to replay (or fail cleanly) after a reconnection. */
    private final Map<Integer, CompletableFuture<XsMessage>> pending = new ConcurrentHashMap<>();
    private final Map<Integer, XsMessage> sent = new ConcurrentHashMap<>();
    /** Senders hold it shared; a reconnection holds it alone while it swaps the channel and replays. */
    private final java.util.concurrent.locks.ReentrantReadWriteLock swap = new java.util.concurrent.locks.ReentrantReadWriteLock();
    /** Transactions started on the current connection; those of a connection that died answer EAGAIN. */
    private final java.util.Set<Integer> openTx = ConcurrentHashMap.newKeySet();
    private final java.util.Set<Integer> staleTx = ConcurrentHashMap.newKeySet();
    private final AtomicInteger reconnections = new AtomicInteger();
    /** Watches by token: an event names its token, so dispatch looks at that token's watches only. */
    private final Map<String, List<Watch>> watches = new ConcurrentHashMap<>();
    private final AtomicInteger nextReqId = new AtomicInteger(1);
    private final ExecutorService dispatcher;
    private volatile IOException closedCause;

    public XsClient(XsChannel channel) {
        this(channel, null);
    }

    /**
     * A client that survives the daemon's restart: when the connection ends it opens a new one with
     * {@code reconnector} (retrying for a minute), registers its watches again (each fires once, as at
     * registration), and then each request that had no reply is sent again if doing so twice is harmless
     * (reads, writes, mkdir, rm, set-perms, watch, domain and quota requests, transaction start), or fails:
     * requests inside a transaction and commits with EAGAIN (the transaction is gone; {@link #transaction}
     * runs it again), anything else (CONTROL, RELEASE) with an IOException saying it may or may not have
     * happened. Nothing is silently lost.
     */
    public static XsClient reconnecting(java.nio.file.Path socket) throws IOException {
        return new XsClient(UnixSocketChannel.connect(socket), () -> UnixSocketChannel.connect(socket));
    }

    public XsClient(XsChannel channel, Reconnector reconnector) {
        this.channel = channel;
        this.reconnector = reconnector;
        // A virtual thread: callbacks may block on this client, and a host holds one client per in-process guest.
        this.dispatcher = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("xs-client-watches").factory());
        boolean pushed = channel.push(new XsChannel.Receiver() {
            @Override
            public void onMessage(XsMessage message) {
                handle(message);
            }

            @Override
            public void onClosed(IOException cause) {
                ended(cause);
            }
        });
        if (!pushed) daemonThread(this::readLoop, "xs-client-reader").start();
    }

    /** Connects to the daemon's Unix socket found by {@link XsLocator}. */
    public static XsClient open() throws IOException {
        return new XsClient(UnixSocketChannel.connect());
    }

    private static Thread daemonThread(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    public int domid() {
        return channel.domid();
    }

    // ---- raw requests ----

    /**
     * Sends a request with a fresh req_id (the message's own is ignored) and completes with the daemon's reply
     * as it came, ERROR replies included. Fails with an IOException when the connection ends first. Actions
     * chained on the future may run on the thread that delivers replies, so they must not block.
     */
    public CompletableFuture<XsMessage> request(XsMessage message) {
        if (message.txId() != NO_TX && staleTx.contains(message.txId())) {
            CompletableFuture<XsMessage> reply = new CompletableFuture<>();
            // A transaction of a connection that died with the daemon: gone, as after a live update.
            boolean abort = message.type() == XsType.TRANSACTION_END.code && Payloads.cString(message.payload()).equals("F");
            if (abort) staleTx.remove(message.txId());
            reply.complete(abort ? message.reply(Payloads.OK)
                    : XsMessage.error(message, XsError.EAGAIN));
            return reply;
        }
        return send(List.of(message)).get(0);
    }

    /**
     * {@link #request} for several requests of one transaction (or none), handed to the channel together, in
     * order: one write, one notification. Each future completes as {@link #request}'s would.
     */
    public List<CompletableFuture<XsMessage>> requestAll(List<XsMessage> messages) {
        if (!messages.isEmpty() && messages.get(0).txId() != NO_TX && staleTx.contains(messages.get(0).txId())) {
            // As request() answers each of them: the transaction died with the daemon.
            List<CompletableFuture<XsMessage>> replies = new ArrayList<>(messages.size());
            for (XsMessage m : messages) replies.add(request(m));
            return replies;
        }
        return send(messages);
    }

    /** Fresh req_ids for the messages, registered as pending, then the frames to the channel in one call. */
    private List<CompletableFuture<XsMessage>> send(List<XsMessage> messages) {
        List<CompletableFuture<XsMessage>> replies = new ArrayList<>(messages.size());
        List<XsMessage> out = new ArrayList<>(messages.size());
        swap.readLock().lock();
        try {
            for (XsMessage message : messages) {
                CompletableFuture<XsMessage> reply = new CompletableFuture<>();
                int reqId = allocateReqId(reply);
                replies.add(reply);
                XsMessage m = new XsMessage(message.type(), reqId, message.txId(), message.payload());
                if (reconnector != null) sent.put(reqId, m);
                out.add(m);
            }
            IOException closed = closedCause;
            if (closed != null) {
                // The reader may have drained the table before we registered: fail here so nothing waits forever.
                fail(out, replies, closed);
                return replies;
            }
            try {
                channel.sendAll(out);
            } catch (IOException e) {
                // A reconnecting client replays or fails them once the connection is back (or given up on).
                if (reconnector == null) fail(out, replies, e);
            }
        } finally {
            swap.readLock().unlock();
        }
        return replies;
    }

    private void fail(List<XsMessage> sentNow, List<CompletableFuture<XsMessage>> replies, IOException why) {
        for (int i = 0; i < sentNow.size(); i++) {
            pending.remove(sentNow.get(i).reqId());
            sent.remove(sentNow.get(i).reqId());
            replies.get(i).completeExceptionally(why);
        }
    }

    /** How often this client reconnected after its daemon went away. */
    public int reconnections() {
        return reconnections.get();
    }

    private int allocateReqId(CompletableFuture<XsMessage> reply) {
        while (true) {
            int id = nextReqId.getAndIncrement();
            // 0 is what single-request clients use; skip it so our ids never collide with that convention.
            if (id != 0 && pending.putIfAbsent(id, reply) == null) return id;
        }
    }

    /** Sends a request and waits; an ERROR reply becomes a {@link XenStoreException}. */
    public byte[] call(XsType type, int txId, byte[] payload) throws IOException {
        return payloadOf(type, request(XsMessage.of(type, 0, txId, payload)));
    }

    private static XsMessage await(CompletableFuture<XsMessage> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for xenstored");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException(e.getCause());
        }
    }

    /** Waits for a reply to {@code type}: its payload, an ERROR reply as a {@link XenStoreException}. */
    private static byte[] payloadOf(XsType type, CompletableFuture<XsMessage> pending) throws IOException {
        XsMessage reply = await(pending);
        if (reply.type() == XsType.ERROR.code) {
            XsError error = XsError.fromPayload(reply.payload());
            throw new XenStoreException(error, type + ": " + error.name());
        }
        if (reply.type() != type.code) {
            throw new IOException("reply type " + XsType.name(reply.type()) + " to a " + type + " request");
        }
        return reply.payload();
    }

    /**
     * Several READs outside a transaction, sent at once and waited for together (pipelined on the connection,
     * so the wait is one round trip, not one per node): what xenbus_gather reads, for a caller that needs
     * several keys before it can go on. A missing node gives null; any other error is thrown.
     */
    public List<String> readAll(List<String> paths) throws IOException {
        List<XsMessage> reads = new ArrayList<>(paths.size());
        for (String p : paths) reads.add(XsMessage.of(XsType.READ, 0, NO_TX, Payloads.strings(p)));
        // Handed to the channel together: one write or notification, one wake-up of the daemon.
        List<CompletableFuture<XsMessage>> replies = requestAll(reads);
        List<String> values = new ArrayList<>(paths.size());
        IOException failure = null;
        for (CompletableFuture<XsMessage> r : replies) {
            try {
                values.add(valueOrNull(await(r)));
            } catch (IOException e) {
                if (failure == null) failure = e;
                values.add(null);
            }
        }
        if (failure != null) throw failure;
        return values;
    }

    private byte[] single(XsType type, int txId, String arg) throws IOException {
        return call(type, txId, Payloads.strings(arg));
    }

    // ---- node operations (tx = NO_TX outside a transaction) ----

    public byte[] read(String path) throws IOException {
        return read(NO_TX, path);
    }

    /** The node's value; a missing node is a {@link XenStoreException} with ENOENT. */
    public byte[] read(int tx, String path) throws IOException {
        return single(XsType.READ, tx, path);
    }

    public String readString(String path) throws IOException {
        return readString(NO_TX, path);
    }

    public String readString(int tx, String path) throws IOException {
        return new String(read(tx, path), StandardCharsets.UTF_8);
    }

    /** The node's value, or null if it is missing (one READ). Other errors (EACCES...) are thrown. */
    public String readOrNull(String path) throws IOException {
        return readOrNull(NO_TX, path);
    }

    /** As {@link #readOrNull(String)}, inside transaction {@code tx}. */
    public String readOrNull(int tx, String path) throws IOException {
        return valueOrNull(await(request(XsMessage.of(XsType.READ, 0, tx, Payloads.strings(path)))));
    }

    /**
     * A READ's reply as a value, or null for ENOENT. A missing node is an answer here, not a failure, so no
     * exception is made for it: dom0 asks this for keys most devices leave out, for every device it serves.
     */
    private static String valueOrNull(XsMessage reply) throws IOException {
        if (reply.type() == XsType.ERROR.code && XsError.fromPayload(reply.payload()) == XsError.ENOENT) return null;
        return new String(payloadOf(XsType.READ, CompletableFuture.completedFuture(reply)), StandardCharsets.UTF_8);
    }

    /** True if the node can be read; false if it is missing. Other errors (EACCES...) are thrown. */
    public boolean exists(int tx, String path) throws IOException {
        return readOrNull(tx, path) != null;
    }

    public boolean exists(String path) throws IOException {
        return exists(NO_TX, path);
    }

    public void write(String path, byte[] value) throws IOException {
        write(NO_TX, path, value);
    }

    public void write(String path, String value) throws IOException {
        write(NO_TX, path, value.getBytes(StandardCharsets.UTF_8));
    }

    public void write(int tx, String path, byte[] value) throws IOException {
        call(XsType.WRITE, tx, Payloads.pathAndValue(path, value));
    }

    /**
     * WRITEs of several nodes, outside a transaction, sent together (one write to the channel, one wait): the
     * daemon sees them in order, as from one after another. Returns the failure of each that failed, by path.
     */
    public Map<String, XenStoreException> writeAll(java.util.SequencedMap<String, String> values) throws IOException {
        List<XsMessage> writes = new ArrayList<>(values.size());
        values.forEach((path, value) -> writes.add(XsMessage.of(XsType.WRITE, 0, NO_TX,
                Payloads.pathAndValue(path, value.getBytes(StandardCharsets.UTF_8)))));
        List<CompletableFuture<XsMessage>> replies = requestAll(writes);
        Map<String, XenStoreException> failed = new java.util.LinkedHashMap<>();
        int i = 0;
        for (String path : values.keySet()) {
            try {
                payloadOf(XsType.WRITE, replies.get(i++));
            } catch (XenStoreException e) {
                failed.put(path, e);
            }
        }
        return failed;
    }

    public void mkdir(String path) throws IOException {
        mkdir(NO_TX, path);
    }

    public void mkdir(int tx, String path) throws IOException {
        single(XsType.MKDIR, tx, path);
    }

    public void rm(String path) throws IOException {
        rm(NO_TX, path);
    }

    public void rm(int tx, String path) throws IOException {
        single(XsType.RM, tx, path);
    }

    public List<String> directory(String path) throws IOException {
        return directory(NO_TX, path);
    }

    /**
     * The node's children. A list too big for one reply (E2BIG) is fetched with DIRECTORY_PART, restarting
     * when the node's generation changes between parts, as libxenstore's xs_directory does.
     */
    public List<String> directory(int tx, String path) throws IOException {
        try {
            return Payloads.split(single(XsType.DIRECTORY, tx, path));
        } catch (XenStoreException e) {
            if (e.error() != XsError.E2BIG) throw e;
            return directoryInParts(tx, path);
        }
    }

    /**
     * The node's children, or null if it is missing. As {@link #readOrNull(String)}: a missing directory is an
     * answer (a kernel probes each device class it has a driver for), so no exception is made for it.
     */
    public List<String> directoryOrNull(String path) throws IOException {
        XsMessage reply = await(request(XsMessage.of(XsType.DIRECTORY, 0, NO_TX, Payloads.strings(path))));
        if (reply.type() == XsType.ERROR.code) {
            XsError error = XsError.fromPayload(reply.payload());
            if (error == XsError.ENOENT) return null;
            if (error == XsError.E2BIG) return directoryInParts(NO_TX, path);
        }
        return Payloads.split(payloadOf(XsType.DIRECTORY, CompletableFuture.completedFuture(reply)));
    }

    private List<String> directoryInParts(int tx, String path) throws IOException {
        restart:
        while (true) {
            List<String> names = new ArrayList<>();
            String generation = null;
            int offset = 0;
            while (true) {
                byte[] reply;
                try {
                    reply = call(XsType.DIRECTORY_PART, tx, Payloads.strings(path, Integer.toString(offset)));
                } catch (XenStoreException e) {
                    // A daemon without DIRECTORY_PART: the caller learns the list was too big.
                    if (e.error() == XsError.ENOSYS) throw new XenStoreException(XsError.E2BIG);
                    throw e;
                }
                int genEnd = Payloads.firstNul(reply);
                if (genEnd < 0) throw new IOException("DIRECTORY_PART reply without generation");
                String gen = new String(reply, 0, genEnd, StandardCharsets.US_ASCII);
                if (generation == null) generation = gen;
                else if (!generation.equals(gen)) continue restart;
                byte[] chunk = Arrays.copyOfRange(reply, genEnd + 1, reply.length);
                // The last part ends with an extra NUL: an empty name terminates the list.
                boolean last = chunk.length <= 1 || chunk[chunk.length - 2] == 0;
                for (String name : Payloads.split(chunk)) {
                    if (!name.isEmpty()) names.add(name);
                }
                offset += chunk.length;
                if (last) return names;
            }
        }
    }

    public XsPerms getPerms(String path) throws IOException {
        return getPerms(NO_TX, path);
    }

    public XsPerms getPerms(int tx, String path) throws IOException {
        XsPerms perms = XsPerms.parse(Payloads.split(single(XsType.GET_PERMS, tx, path)));
        if (perms == null) throw new XenStoreException(XsError.EINVAL, "malformed GET_PERMS reply for " + path);
        return perms;
    }

    public void setPerms(String path, XsPerms perms) throws IOException {
        setPerms(NO_TX, path, perms);
    }

    public void setPerms(int tx, String path, XsPerms perms) throws IOException {
        call(XsType.SET_PERMS, tx, setPermsPayload(path, perms));
    }

    private static byte[] setPermsPayload(String path, XsPerms perms) {
        List<String> parts = new ArrayList<>();
        parts.add(path);
        perms.entries().forEach(p -> parts.add(p.toString()));
        return Payloads.strings(parts.toArray(String[]::new));
    }

    // ---- watches ----

    /**
     * Registers a watch; the callback gets every event whose token matches and whose path is the watched
     * path or below it, including the one the daemon fires at registration.
     */
    public void watch(String path, String token, XsWatchCallback callback) throws IOException {
        watch(new Watch(path, token, callback, false));
    }

    /**
     * A watch whose callback runs on the thread that delivers the event (the reader, or a guest ring's event
     * handler), in arrival order, without the hand-off to the dispatcher thread. For callbacks that only queue
     * work: it must not block, and must not wait for a reply from this client (that reply would be delivered
     * by the very thread it holds up).
     */
    public void watchDirect(String path, String token, XsWatchCallback callback) throws IOException {
        watch(new Watch(path, token, callback, true));
    }

    private void watch(Watch w) throws IOException {
        String token = w.token;
        String path = w.path;
        // Registered before the request: the daemon sends the initial event right after its OK.
        watches.computeIfAbsent(token, t -> new CopyOnWriteArrayList<>()).add(w);
        try {
            call(XsType.WATCH, NO_TX, Payloads.strings(path, token));
        } catch (IOException e) {
            forget(token, x -> x == w);
            throw e;
        }
    }

    public void unwatch(String path, String token) throws IOException {
        call(XsType.UNWATCH, NO_TX, Payloads.strings(path, token));
        forget(token, w -> w.path.equals(path));
    }

    private void forget(String token, java.util.function.Predicate<Watch> which) {
        watches.computeIfPresent(token, (t, list) -> {
            list.removeIf(which);
            return list.isEmpty() ? null : list;
        });
    }

    /** Drops all of this connection's watches at the daemon (RESET_WATCHES) and here. */
    public void resetWatches() throws IOException {
        call(XsType.RESET_WATCHES, NO_TX, Payloads.EMPTY);
        watches.clear();
    }

    // ---- transactions ----

    public Tx transactionStart() throws IOException {
        String id = Payloads.cString(call(XsType.TRANSACTION_START, NO_TX, Payloads.strings("")));
        try {
            int tx = Integer.parseUnsignedInt(id);
            staleTx.remove(tx);
            if (reconnector != null) openTx.add(tx);
            return new Tx(tx);
        } catch (NumberFormatException e) {
            throw new IOException("bad transaction id " + id, e);
        }
    }

    /** Commits ({@code commit}) or aborts; a conflicting commit throws EAGAIN. */
    public void transactionEnd(int tx, boolean commit) throws IOException {
        try {
            single(XsType.TRANSACTION_END, tx, commit ? "T" : "F");
        } finally {
            openTx.remove(tx);
        }
    }

    /**
     * Runs the body in a transaction and commits it, re-running everything when the daemon reports a
     * conflict (EAGAIN), at most {@link #MAX_TRANSACTION_ATTEMPTS} times. Any other failure aborts.
     */
    public <T> T transaction(TxBody<T> body) throws IOException {
        for (int attempt = 1; ; attempt++) {
            Tx tx = transactionStart();
            T result;
            try {
                result = body.run(tx);
                tx.sync(); // the body's pipelined operations: their errors are the body's
            } catch (XenStoreException e) {
                abortQuietly(tx, e);
                if (e.error() == XsError.EAGAIN && attempt < MAX_TRANSACTION_ATTEMPTS) {
                    backOff(attempt);
                    continue;
                }
                throw e;
            } catch (IOException | RuntimeException | Error e) {
                abortQuietly(tx, e);
                throw e;
            }
            try {
                transactionEnd(tx.id(), true);
                return result;
            } catch (XenStoreException e) {
                if (e.error() != XsError.EAGAIN || attempt >= MAX_TRANSACTION_ATTEMPTS) throw e;
                backOff(attempt);
            }
        }
    }

    /**
     * Before re-running a conflicted transaction: a random pause below a ceiling that doubles with each
     * attempt (100 us, 200 us, ... at most 12.8 ms). Without it, many writers adding children to one parent
     * (every device add writes its backend directory under {@code backend/<class>}) re-run in lock step and
     * conflict again every time, until they give up.
     */
    private static void backOff(int attempt) throws InterruptedIOException {
        long ceiling = TimeUnit.MICROSECONDS.toNanos(100) << Math.min(attempt - 1, 7);
        long pause = ThreadLocalRandom.current().nextLong(ceiling);
        try {
            TimeUnit.NANOSECONDS.sleep(pause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted between transaction attempts");
        }
    }

    private void abortQuietly(Tx tx, Throwable cause) {
        try {
            transactionEnd(tx.id(), false);
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }

    private record Unsynced(XsType type, CompletableFuture<XsMessage> reply) {
    }

    /**
     * A started transaction: the node operations with its tx_id. The {@code ...Later} ones are sent without
     * waiting for their replies (pipelined: a transaction's writes are invisible until it commits, so only the
     * waits change, not what xenstored does or in which order); {@link #sync} waits for them, throwing the first
     * error, and {@link XsClient#transaction} syncs before it commits.
     */
    public final class Tx {
        private final int id;
        /** The {@code ...Later} operations sent and not yet waited for. */
        private final List<Unsynced> unsynced = new ArrayList<>();
        /** {@code ...Later} operations not sent yet: they go together, before this transaction's next request. */
        private final List<XsMessage> queued = new ArrayList<>();

        private Tx(int id) {
            this.id = id;
        }

        public int id() {
            return id;
        }

        public byte[] read(String path) throws IOException {
            flush();
            return XsClient.this.read(id, path);
        }

        public String readString(String path) throws IOException {
            flush();
            return XsClient.this.readString(id, path);
        }

        public String readOrNull(String path) throws IOException {
            flush();
            return XsClient.this.readOrNull(id, path);
        }

        public boolean exists(String path) throws IOException {
            flush();
            return XsClient.this.exists(id, path);
        }

        public void write(String path, byte[] value) throws IOException {
            flush();
            XsClient.this.write(id, path, value);
        }

        public void write(String path, String value) throws IOException {
            flush();
            XsClient.this.write(id, path, value.getBytes(StandardCharsets.UTF_8));
        }

        public void mkdir(String path) throws IOException {
            flush();
            XsClient.this.mkdir(id, path);
        }

        public void rm(String path) throws IOException {
            flush();
            XsClient.this.rm(id, path);
        }

        public List<String> directory(String path) throws IOException {
            flush();
            return XsClient.this.directory(id, path);
        }

        public XsPerms getPerms(String path) throws IOException {
            flush();
            return XsClient.this.getPerms(id, path);
        }

        public void setPerms(String path, XsPerms perms) throws IOException {
            flush();
            XsClient.this.setPerms(id, path, perms);
        }

        /**
         * A READ of {@code path} and a WRITE of {@code value} to it, sent together after the queued operations (one
         * round trip, not two): the value before the write, or null if the node was missing. A caller that finds a
         * value it must not overwrite aborts the transaction, which undoes the write (xenbus_switch_state's check).
         */
        public String readOrNullThenWrite(String path, String value) throws IOException {
            flush();
            List<CompletableFuture<XsMessage>> replies = requestAll(List.of(
                    XsMessage.of(XsType.READ, 0, id, Payloads.strings(path)),
                    XsMessage.of(XsType.WRITE, 0, id, Payloads.pathAndValue(path, value.getBytes(StandardCharsets.UTF_8)))));
            String before = valueOrNull(await(replies.get(0)));
            payloadOf(XsType.WRITE, replies.get(1));
            return before;
        }

        public void writeLater(String path, String value) {
            later(XsType.WRITE, Payloads.pathAndValue(path, value.getBytes(StandardCharsets.UTF_8)));
        }

        public void mkdirLater(String path) {
            later(XsType.MKDIR, Payloads.strings(path));
        }

        public void setPermsLater(String path, XsPerms perms) {
            later(XsType.SET_PERMS, setPermsPayload(path, perms));
        }

        private void later(XsType type, byte[] payload) {
            queued.add(XsMessage.of(type, 0, id, payload));
        }

        /** Sends the queued operations, in order, as one batch; their replies are waited for by {@link #sync}. */
        private void flush() {
            if (queued.isEmpty()) return;
            List<CompletableFuture<XsMessage>> replies = requestAll(queued);
            for (int i = 0; i < replies.size(); i++) {
                unsynced.add(new Unsynced(XsType.of(queued.get(i).type()), replies.get(i)));
            }
            queued.clear();
        }

        /** Waits for every reply of the {@code ...Later} operations so far: the first error is thrown. */
        public void sync() throws IOException {
            flush();
            IOException first = null;
            for (Unsynced u : unsynced) {
                try {
                    payloadOf(u.type(), u.reply());
                } catch (IOException e) {
                    if (first == null) first = e;
                }
            }
            unsynced.clear();
            if (first != null) throw first;
        }

        public void commit() throws IOException {
            sync();
            transactionEnd(id, true);
        }

        public void abort() throws IOException {
            // What was queued was never sent: the transaction ends without it.
            queued.clear();
            transactionEnd(id, false);
        }
    }

    // ---- domains and control ----

    public void introduce(int domid, long gfn, int eventChannel) throws IOException {
        call(XsType.INTRODUCE, NO_TX, Payloads.strings(Integer.toUnsignedString(domid), Long.toUnsignedString(gfn),
                Integer.toUnsignedString(eventChannel)));
    }

    public void release(int domid) throws IOException {
        single(XsType.RELEASE, NO_TX, Integer.toUnsignedString(domid));
    }

    public void resume(int domid) throws IOException {
        single(XsType.RESUME, NO_TX, Integer.toUnsignedString(domid));
    }

    public String getDomainPath(int domid) throws IOException {
        return Payloads.cString(single(XsType.GET_DOMAIN_PATH, NO_TX, Integer.toUnsignedString(domid)));
    }

    /** As libxenstore: anything but "F" means introduced. */
    public boolean isDomainIntroduced(int domid) throws IOException {
        return !Payloads.cString(single(XsType.IS_DOMAIN_INTRODUCED, NO_TX, Integer.toUnsignedString(domid))).equals("F");
    }

    public void setTarget(int domid, int target) throws IOException {
        call(XsType.SET_TARGET, NO_TX, Payloads.strings(Integer.toUnsignedString(domid), Integer.toUnsignedString(target)));
    }

    /** CONTROL with the command and its arguments, each NUL-terminated; returns the raw reply. */
    public byte[] control(String... commandAndArgs) throws IOException {
        return call(XsType.CONTROL, NO_TX, Payloads.strings(commandAndArgs));
    }

    /** GET_QUOTA with the given arguments ({@code [domid,] [quota name]}); returns the reply's strings. */
    public List<String> getQuota(String... args) throws IOException {
        return Payloads.split(call(XsType.GET_QUOTA, NO_TX, Payloads.strings(args)));
    }

    /** SET_QUOTA with the given arguments ({@code [domid,] name, value}). */
    public void setQuota(String... args) throws IOException {
        call(XsType.SET_QUOTA, NO_TX, Payloads.strings(args));
    }

    // ---- connection ----

    private void readLoop() {
        while (true) {
            try {
                XsChannel from = channel;
                while (true) handle(from.receive());
            } catch (IOException e) {
                if (reconnector == null || closedCause != null || !reconnect(e)) {
                    ended(e);
                    return;
                }
            } catch (RuntimeException e) {
                failAll(new IOException("xenstore reader failed", e));
                return;
            }
        }
    }

    /**
     * The daemon went away: a new connection, the watches again, then every unanswered request replayed or
     * failed (see {@link #reconnecting}). False if no daemon answers within {@link #RECONNECT_WINDOW_MS}.
     */
    private boolean reconnect(IOException cause) {
        long deadline = System.currentTimeMillis() + RECONNECT_WINDOW_MS;
        XsChannel next = null;
        while (next == null) {
            if (closedCause != null) return false;
            try {
                next = reconnector.open();
            } catch (IOException e) {
                if (System.currentTimeMillis() > deadline) return false;
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        swap.writeLock().lock();
        try {
            try {
                channel.close();
            } catch (IOException ignored) {
                // dead already
            }
            channel = next;
            reconnections.incrementAndGet();
            staleTx.addAll(openTx);
            openTx.clear();
            System.getLogger("jxen.xenstore").log(System.Logger.Level.INFO,
                    "xenstored connection lost ({0}); reconnected, {1} watch(es) registered again, {2} request(s) in flight",
                    cause.getMessage(), watches.values().stream().mapToInt(List::size).sum(), pending.size());
            java.util.Set<String> again = new java.util.HashSet<>();
            for (List<Watch> list : watches.values()) {
                for (Watch w : list) {
                    if (!again.add(w.path + '\0' + w.token)) continue;
                    sendQuietly(next, XsMessage.of(XsType.WATCH, 0, NO_TX, Payloads.strings(w.path, w.token)));
                }
            }
            for (Integer id : new java.util.TreeSet<>(pending.keySet())) {
                XsMessage m = sent.get(id);
                CompletableFuture<XsMessage> f = pending.get(id);
                if (m == null || f == null) continue;
                switch (replay(m)) {
                    case SEND -> sendQuietly(next, m);
                    case DONE -> {
                        pending.remove(id);
                        sent.remove(id);
                        f.complete(m.reply(Payloads.OK));
                    }
                    case EAGAIN -> {
                        pending.remove(id);
                        sent.remove(id);
                        f.complete(XsMessage.error(m, XsError.EAGAIN));
                    }
                    case UNKNOWN -> {
                        pending.remove(id);
                        sent.remove(id);
                        f.completeExceptionally(new IOException("xenstored restarted before answering "
                                + XsType.name(m.type()) + "; it may or may not have been done"));
                    }
                }
            }
        } finally {
            swap.writeLock().unlock();
        }
        return true;
    }

    private enum Replay { SEND, DONE, EAGAIN, UNKNOWN }

    /** What to do with a request the old connection never answered. */
    private static Replay replay(XsMessage m) {
        XsType t = XsType.of(m.type());
        if (t == null) return Replay.UNKNOWN;
        if (t == XsType.WATCH) return Replay.DONE; // registered again with the others
        if (m.txId() != NO_TX) return Replay.EAGAIN; // the transaction died with the connection
        return switch (t) {
            case READ, DIRECTORY, DIRECTORY_PART, GET_PERMS, WRITE, MKDIR, RM, SET_PERMS, UNWATCH, TRANSACTION_START,
                    GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED, INTRODUCE, RESUME, SET_TARGET, RESET_WATCHES, GET_FEATURE,
                    SET_FEATURE, GET_QUOTA, SET_QUOTA -> Replay.SEND;
            case TRANSACTION_END -> Replay.EAGAIN;
            default -> Replay.UNKNOWN;
        };
    }

    /** Internal requests (watches registered again) get req_ids nobody waits for: their replies are dropped. */
    private void sendQuietly(XsChannel ch, XsMessage m) {
        XsMessage out = m.reqId() != 0 ? m : new XsMessage(m.type(), internalReqId(), m.txId(), m.payload());
        try {
            ch.send(out);
        } catch (IOException e) {
            // The new connection died too: the reader finds out and reconnects again.
        }
    }

    private int internalReqId() {
        while (true) {
            int id = nextReqId.getAndIncrement();
            if (id != 0 && !pending.containsKey(id)) return id;
        }
    }

    private void handle(XsMessage m) {
        if (m.type() == XsType.WATCH_EVENT.code && m.reqId() == 0) {
            dispatch(m);
            return;
        }
        CompletableFuture<XsMessage> reply = pending.remove(m.reqId());
        sent.remove(m.reqId());
        if (reply != null) reply.complete(m);
    }

    /** The channel ended: after our own close() report why we closed, otherwise what the channel said. */
    private void ended(IOException cause) {
        failAll(cause instanceof EOFException || closedCause == null ? cause : closedCause);
    }

    private void dispatch(XsMessage event) {
        List<String> parts = Payloads.split(event.payload());
        if (parts.size() < 2) return;
        String path = parts.get(0);
        String token = parts.get(1);
        List<Watch> withToken = watches.getOrDefault(token, List.of());
        List<Watch> targets = new ArrayList<>();
        for (Watch w : withToken) {
            if (isSubpath(w.path, path)) targets.add(w);
        }
        // A daemon may report a path we cannot relate to the watched one (e.g. relative vs absolute):
        // the token alone still identifies the watch, so such an event is not lost.
        if (targets.isEmpty()) targets.addAll(withToken);
        for (Watch w : targets) {
            if (w.direct) {
                try {
                    w.callback.onEvent(path, token);
                } catch (RuntimeException e) {
                    // The delivering thread serves every reply of this connection: a faulty callback must not stop it.
                    System.getLogger("jxen.xenstore").log(System.Logger.Level.WARNING,
                            "watch callback for " + path + " (" + token + ") failed", e);
                }
                continue;
            }
            try {
                dispatcher.execute(() -> w.callback.onEvent(path, token));
            } catch (RejectedExecutionException closing) {
                return;
            }
        }
    }

    /** libxenstore's xs_path_is_subpath, plus the root containing every absolute path. */
    static boolean isSubpath(String parent, String child) {
        if (parent.equals("/")) return child.startsWith("/");
        return child.startsWith(parent) && (child.length() == parent.length() || child.charAt(parent.length()) == '/');
    }

    private void failAll(IOException cause) {
        if (closedCause == null) closedCause = cause;
        for (Integer id : pending.keySet()) {
            sent.remove(id);
            CompletableFuture<XsMessage> f = pending.remove(id);
            if (f != null) f.completeExceptionally(closedCause);
        }
    }

    public boolean isOpen() {
        return closedCause == null;
    }

    /** Closes the connection; outstanding requests fail with an IOException. */
    @Override
    public void close() throws IOException {
        if (closedCause == null) closedCause = new IOException("xenstore client closed");
        try {
            channel.close();
        } finally {
            failAll(closedCause);
            dispatcher.shutdown();
        }
    }
}
