package org.jxen.drivers.blk.back;

import java.io.IOException;
import org.jxen.drivers.blk.Blkif;
import org.jxen.hypervisor.Errno;

/**
 * A failed disk operation with the errno that explains it (0 when the failure was detected before any call): one
 * of {@link Errno}, or whatever number a system call returned.
 */
public final class DiskException extends IOException {
    private final int errno;

    public DiskException(Errno errno, String message) {
        this(errno.code, message);
    }

    /** {@code errno} as a system call returned it (positive). */
    public DiskException(int errno, String message) {
        super(message + (errno != 0 ? " (errno " + errno + ")" : ""));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    /** The blkif status this failure reports to the frontend: only "not supported" is distinguished. */
    public short blkifStatus() {
        return errno == Errno.EOPNOTSUPP.code ? Blkif.RSP_EOPNOTSUPP : Blkif.RSP_ERROR;
    }
}
