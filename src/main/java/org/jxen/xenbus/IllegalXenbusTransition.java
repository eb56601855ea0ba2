package org.jxen.xenbus;

/**
 * A driver's state machine was asked for a transition it has no path for (where Linux's netback calls BUG()).
 * Thrown from a driver callback, the bus reports it on the device (error node, then Closing) instead of
 * letting it take down the kernel.
 */
public final class IllegalXenbusTransition extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public IllegalXenbusTransition(XenbusState from, XenbusState to) {
        super("illegal state transition " + from + " -> " + to);
    }
}
