package org.jxen.drivers.blk;

import java.io.IOException;

/** A failed disk operation with the errno that explains it (0 when the failure was detected before any call). */
public final class DiskException extends IOException {
    public static final int EIO = 5;
    public static final int EBADF = 9;
    public static final int EACCES = 13;
    public static final int EINVAL = 22;
    public static final int EROFS = 30;
    public static final int EOPNOTSUPP = 95;

    private final int errno;

    public DiskException(int errno, String message) {
        super(message + (errno != 0 ? " (errno " + errno + ")" : ""));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    /** The blkif status this failure reports to the frontend: only "not supported" is distinguished. */
    public short blkifStatus() {
        return errno == EOPNOTSUPP ? Blkif.RSP_EOPNOTSUPP : Blkif.RSP_ERROR;
    }
}
