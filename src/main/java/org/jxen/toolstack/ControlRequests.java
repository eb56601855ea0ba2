package org.jxen.toolstack;

import java.util.function.Consumer;

/**
 * Requests of the control socket served by a part of the toolstack the core does not know of (save, restore and
 * migrate, in {@code org.jxen.toolstack.migration}), added to a host with {@link Host#addControlRequests}.
 */
public interface ControlRequests {
    /** DOM (a name or id) to a guest's domain id, refused in the control socket's words. */
    @FunctionalInterface
    interface Resolver {
        int guest(String dom, String verb) throws ControlException;
    }

    /** The bytes that follow a request's line (a config file's text), read when the request asks for them. */
    @FunctionalInterface
    interface Payload {
        byte[] read(int length) throws ControlException;
    }

    /**
     * Serves {@code req} if it is one of these, each data line to {@code data}; false otherwise. A request that
     * carries bytes after its line reads them from {@code payload}.
     */
    boolean handle(String[] req, Resolver resolver, Payload payload, Consumer<String> data)
            throws ControlException, InterruptedException;
}
