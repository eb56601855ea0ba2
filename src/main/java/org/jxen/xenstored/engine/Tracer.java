package org.jxen.xenstored.engine;

import org.jxen.xenstore.XsMessage;

/** Receives every request, reply and watch event (the daemon's --trace). */
public interface Tracer {
    Tracer NONE = (direction, connection, message) -> {};

    enum Direction { IN, OUT, EVENT, DROP }

    void trace(Direction direction, Connection connection, XsMessage message);

    /** Called when the loop goes idle: a good moment to flush buffered output. */
    default void flush() {}
}
