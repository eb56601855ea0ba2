package org.jxen.xenstored.engine;

import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;

/**
 * A request's failure inside the daemon: it becomes an ERROR reply, never a log line, so it carries no stack
 * trace. Filling one in walked the event loop's stack for every READ of a missing node.
 */
final class ErrorReply extends XenStoreException {
    private static final long serialVersionUID = 1L;

    ErrorReply(XsError error) {
        super(error);
    }

    ErrorReply(XsError error, String detail) {
        super(error, detail);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
