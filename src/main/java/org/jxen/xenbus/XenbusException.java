package org.jxen.xenbus;

import java.io.IOException;
import org.jxen.hypervisor.Errno;

/** A xenbus operation failed with {@code errno}; the message says what was being done, as xenbus_dev_fatal's does. */
public class XenbusException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Errno errno;

    public XenbusException(Errno errno, String message) {
        super(message);
        this.errno = errno;
    }

    public XenbusException(Errno errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    public Errno errno() {
        return errno;
    }

    /**
     * The toolstack removed the device's directory while we were working on it: nothing was written (our writes
     * must never re-create a directory the toolstack removed), and there is nobody left to report to.
     */
    public static final class DeviceGone extends XenbusException {
        private static final long serialVersionUID = 1L;

        public DeviceGone(String nodename) {
            super(Errno.ENOENT, nodename + " was removed");
        }
    }
}
