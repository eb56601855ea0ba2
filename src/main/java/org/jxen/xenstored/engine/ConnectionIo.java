package org.jxen.xenstored.engine;

/**
 * The transport side of a connection (Unix socket, in-process pipe, guest ring), as the engine sees it. Both
 * calls come on the event-loop thread.
 */
public interface ConnectionIo {
    /** Output was queued on the connection; drain it with {@link XenStoreEngine#nextOutput}. */
    void outputReady(Connection connection);

    /** The engine dropped the connection (domain released, protocol violation); release transport resources. */
    void close(Connection connection);
}
