package org.jxen.xenstore;

import java.io.Closeable;
import java.io.IOException;

/**
 * A client's message pipe to a xenstored: the Unix socket, the in-process connection, or (later) a guest's
 * shared ring. {@link #send} may be called from any thread; {@link #receive} is called by one reader thread,
 * unless the channel accepted {@link #push}.
 */
public interface XsChannel extends Closeable {
    /** Sends one frame. Thread-safe. */
    void send(XsMessage message) throws IOException;

    /**
     * Sends frames in order, none of another sender's between them; a channel that can hands them to the daemon
     * at once (one write, one notification, one wake-up of its loop) rather than one by one. Thread-safe.
     */
    default void sendAll(java.util.List<XsMessage> messages) throws IOException {
        for (XsMessage m : messages) send(m);
    }

    /** Blocks for the next frame from the daemon; throws {@link java.io.EOFException} when the daemon closed. */
    XsMessage receive() throws IOException;

    /** The domain this channel speaks for (0 for the Unix socket). */
    int domid();

    /** Where a pushing channel hands its frames; called on the channel's delivery thread, so it must not block. */
    interface Receiver {
        /** The next frame, in arrival order. */
        void onMessage(XsMessage message);

        /** The channel ended (closed, or the daemon reported an error); called once, after the last frame. */
        void onClosed(IOException cause);
    }

    /**
     * Asks the channel to hand every frame to {@code receiver} from the thread that learns of it (a guest ring's
     * event handler), so the client needs no reader thread of its own and a reply costs no extra thread wake-up.
     * Returns false if the channel cannot, and the caller must read with {@link #receive}. Called at most once,
     * before any {@link #receive}; frames already waiting may be delivered before it returns.
     */
    default boolean push(Receiver receiver) {
        return false;
    }
}
