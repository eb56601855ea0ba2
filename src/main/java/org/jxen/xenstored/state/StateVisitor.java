package org.jxen.xenstored.state;

import org.jxen.xenstore.XsPerms;

/** What a state stream says, record by record, in stream order; {@link RecordReader} calls it. */
public interface StateVisitor {
    /** A committed node as it now is; {@code perms} null: the node (and anything below it) was removed. */
    void node(String path, XsPerms perms, byte[] value);

    /** A guest's ring connection (re)starts with no watches or transactions. */
    void ringConnection(int connId, int domid, int tdomid, int evtchn);

    void connectionGone(int connId);

    void watch(int connId, String wpath, String token, boolean gone);

    void transaction(int connId, int txId, boolean gone);

    void settings(String text);

    void ringReply(int connId, int reqEnd, byte[] frame);
}
