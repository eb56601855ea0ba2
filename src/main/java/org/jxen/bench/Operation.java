package org.jxen.bench;

import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;

/**
 * One logical benchmark operation as a reply-driven state machine, so that one connection thread can keep
 * several operations in flight (one per pipeline slot). Requests are returned with req_id 0; the driver
 * assigns req_ids.
 */
abstract class Operation {
    /** Set when the operation failed: the daemon's error name or a protocol complaint. */
    String error;
    /** EAGAIN retries the operation needed. */
    int retries;

    /** Resets the outcome and returns the first request of a new operation. */
    final XsMessage begin() {
        error = null;
        retries = 0;
        return first();
    }

    abstract XsMessage first();

    /** Consumes the reply to the last request; returns the next request, or null when the operation is over. */
    abstract XsMessage onReply(XsMessage reply);

    /** The error an ERROR reply names, or a note that the reply's type does not match the request's. */
    static String problem(XsMessage reply, int expectedType) {
        if (reply.type() == XsType.ERROR.code) return XsError.fromPayload(reply.payload()).name();
        if (reply.type() != expectedType) return "reply type " + XsType.name(reply.type()) + " to " + XsType.name(expectedType);
        return null;
    }

    /** A single request per operation, cycling through a fixed set (WRITE, READ, DIRECTORY, echo). */
    static final class Single extends Operation {
        private final XsMessage[] requests;
        private int next;
        private XsMessage current;

        Single(XsMessage[] requests, int offset) {
            this.requests = requests;
            this.next = offset % requests.length;
        }

        @Override
        XsMessage first() {
            current = requests[next];
            next = (next + 1) % requests.length;
            return current;
        }

        @Override
        XsMessage onReply(XsMessage reply) {
            error = problem(reply, current.type());
            return null;
        }
    }

    /**
     * TRANSACTION_START, WRITEs with the transaction id, TRANSACTION_END T. On EAGAIN at commit the whole
     * transaction is retried, as libxenstore's callers do; after any other error it is aborted (END F) so that
     * no transaction leaks in the daemon.
     */
    static final class Transaction extends Operation {
        private static final byte[] COMMIT = Payloads.strings("T");
        private static final byte[] ABORT = Payloads.strings("F");
        private final byte[][] writes;
        private int txId;
        private int written;
        private boolean ending;

        Transaction(byte[][] writes) {
            this.writes = writes;
        }

        @Override
        XsMessage first() {
            txId = 0;
            written = 0;
            ending = false;
            return XsMessage.of(XsType.TRANSACTION_START, 0, 0, Payloads.strings(""));
        }

        @Override
        XsMessage onReply(XsMessage reply) {
            if (ending) {
                if (error != null) return null; // the abort after a failed WRITE: that WRITE's error stands
                String p = problem(reply, XsType.TRANSACTION_END.code);
                if ("EAGAIN".equals(p)) {
                    retries++;
                    return first();
                }
                error = p;
                return null;
            }
            if (txId == 0) {
                String p = problem(reply, XsType.TRANSACTION_START.code);
                if (p != null) {
                    error = p;
                    return null;
                }
                txId = parseTxId(reply.payload());
                if (txId == 0) {
                    error = "TRANSACTION_START reply \"" + reply.payloadText() + "\"";
                    return null;
                }
            } else {
                String p = problem(reply, XsType.WRITE.code);
                if (p != null) {
                    error = p;
                    ending = true;
                    return XsMessage.of(XsType.TRANSACTION_END, 0, txId, ABORT);
                }
            }
            if (written < writes.length) return XsMessage.of(XsType.WRITE, 0, txId, writes[written++]);
            ending = true;
            return XsMessage.of(XsType.TRANSACTION_END, 0, txId, COMMIT);
        }

        private static int parseTxId(byte[] payload) {
            try {
                return Integer.parseUnsignedInt(Payloads.cString(payload));
            } catch (NumberFormatException e) {
                return 0;
            }
        }
    }
}
