package org.jxen.xenstored.engine;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;

/**
 * One client connection as the engine keeps it: identity, watches, open transactions and queued output.
 *
 * <p>Lifecycle: a transport calls {@link XenStoreEngine#connect} when the peer appears, feeds each complete
 * frame to {@link XenStoreEngine#handle} (only while {@link XenStoreEngine#canAcceptInput} is true), drains
 * {@link XenStoreEngine#nextOutput} when told output is ready, and calls {@link XenStoreEngine#disconnect}
 * when the peer goes away. The engine may close it first through {@link ConnectionIo#close}. Everything
 * happens on the event-loop thread.
 */
public final class Connection {
    public final int id;
    public final int domid;
    public final boolean privileged;
    public final String label;
    final ConnectionIo io;

    final LinkedHashMap<String, Watch> watches = new LinkedHashMap<>();
    final Map<Integer, Transaction> transactions = new HashMap<>();
    int nextTransactionId = 1;

    final ArrayDeque<XsMessage> output = new ArrayDeque<>();
    /** Payloads (ISO-8859-1) of the non-special watch events in {@code output}, to drop duplicates. */
    final HashSet<String> queuedEvents = new HashSet<>();
    int queuedReplies;
    long queuedEventBytes;
    long droppedEvents;
    boolean closed;
    /** A guest's ring: its watches and transactions are journaled, and survive a restart of the daemon. */
    boolean durable;
    /**
     * The ring position just past the request being handled ({@link #setRequestEnd}), and the replies of
     * journaled requests the guest has not yet seen consumed: a daemon restarted before the ring's req_cons
     * moved past them reads them again and answers from here instead of applying them twice.
     */
    int requestEnd;
    boolean hasRequestEnd;
    final java.util.LinkedHashMap<Integer, byte[]> unpublished = new java.util.LinkedHashMap<>();
    /** Of {@link #unpublished}: those recovered from the journal (already applied). */
    final java.util.HashSet<Integer> recovered = new java.util.HashSet<>();

    Connection(int id, int domid, boolean privileged, String label, ConnectionIo io) {
        this.id = id;
        this.domid = domid;
        this.privileged = privileged;
        this.label = label;
        this.io = io;
    }

    /** The transport says where in its ring the next request ends (a guest ring only). */
    public void setRequestEnd(int end) {
        requestEnd = end;
        hasRequestEnd = true;
    }

    static String watchKey(String path, String token) {
        return path + '\0' + token;
    }

    boolean isEvent(XsMessage m) {
        return m.type() == XsType.WATCH_EVENT.code;
    }

    public int watchCount() {
        return watches.size();
    }

    public int transactionCount() {
        return transactions.size();
    }

    /** Replies queued and not yet taken by the transport. */
    public int queuedReplies() {
        return queuedReplies;
    }

    /** Messages (replies and watch events) queued and not yet taken by the transport. */
    public int queuedOutput() {
        return output.size();
    }

    public long droppedEvents() {
        return droppedEvents;
    }

    @Override
    public String toString() {
        return label + "#" + id + "(dom" + domid + ")";
    }
}
