package org.jxen.toolstack;

/** An {@code ERROR} reply from the host's control socket: the operation was refused or failed there. */
public final class ControlException extends Exception {
    public ControlException(String message) {
        super(message);
    }
}
