package org.jxen.drivers.blk.front;

import java.io.IOException;

/** A block request that failed: the backend's blkif status (ERROR -1, EOPNOTSUPP -2), or 0 for a local reason. */
public final class BlockIOException extends IOException {
    private final short status;

    public BlockIOException(short status, String message) {
        super(message);
        this.status = status;
    }

    /** BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP, or 0 (detached, closed, bad response). */
    public short status() {
        return status;
    }
}
