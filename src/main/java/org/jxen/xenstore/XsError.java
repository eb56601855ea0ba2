package org.jxen.xenstore;

import java.nio.charset.StandardCharsets;

/**
 * The error names of xs_wire.h ({@code xsd_errors}) with their Linux errno numbers. The wire carries the
 * name ("ENOENT\0"), never the number; the number is what libxenstore sets errno to.
 */
public enum XsError {
    EINVAL(22, "Invalid argument"),
    EACCES(13, "Permission denied"),
    EEXIST(17, "File exists"),
    EISDIR(21, "Is a directory"),
    ENOENT(2, "No such file or directory"),
    ENOMEM(12, "Cannot allocate memory"),
    ENOSPC(28, "No space left on device"),
    EIO(5, "Input/output error"),
    ENOTEMPTY(39, "Directory not empty"),
    ENOSYS(38, "Function not implemented"),
    EROFS(30, "Read-only file system"),
    EBUSY(16, "Device or resource busy"),
    EAGAIN(11, "Resource temporarily unavailable"),
    EISCONN(106, "Transport endpoint is already connected"),
    E2BIG(7, "Argument list too long"),
    EPERM(1, "Operation not permitted");

    public final int errno;
    /** glibc's strerror text, which Xen's command-line tools print. */
    public final String message;
    private final byte[] wire;

    XsError(int errno, String message) {
        this.errno = errno;
        this.message = message;
        this.wire = (name() + "\0").getBytes(StandardCharsets.US_ASCII);
    }

    /** The ERROR reply payload: the name and a NUL. */
    public byte[] payload() {
        return wire.clone();
    }

    /** Parses an ERROR payload; unknown names map to EINVAL as libxenstore's get_error() does. */
    public static XsError fromPayload(byte[] payload) {
        int n = 0;
        while (n < payload.length && payload[n] != 0) n++;
        String name = new String(payload, 0, n, StandardCharsets.US_ASCII);
        for (XsError e : values()) {
            if (e.name().equals(name)) return e;
        }
        return EINVAL;
    }
}
