package org.jxen.cli.xenstore;

/** Ends a tool run with an exit status, like C's exit() after err()/errx() have printed their message. */
final class ToolExit extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;

    ToolExit(int status) {
        super(null, null, false, false);
        this.status = status;
    }
}
