package org.jxen.xenstore;

import java.io.Closeable;
import java.io.IOException;

/**
 * A client's message pipe to a xenstored: the Unix socket, the in-process connection, or (later) a guest's
 * shared ring. {@link #send} may be called from any thread; {@link #receive} is called by one reader thread.
 */
public interface XsChannel extends Closeable {
    /** Sends one frame. Thread-safe. */
    void send(XsMessage message) throws IOException;

    /** Blocks for the next frame from the daemon; throws {@link java.io.EOFException} when the daemon closed. */
    XsMessage receive() throws IOException;

    /** The domain this channel speaks for (0 for the Unix socket). */
    int domid();
}
