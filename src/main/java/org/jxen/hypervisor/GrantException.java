package org.jxen.hypervisor;

/** A grant map or unmap failed; {@link #status()} is the GNTST code Xen would put in the op's status field. */
public class GrantException extends Exception {
    private static final long serialVersionUID = 1L;
    private final GrantStatus status;
    private final transient Errno errno;

    public GrantException(GrantStatus status, String detail) {
        this(status, status.errno(), detail);
    }

    /**
     * A failure of the mapping domain's own system rather than of the grant (an mmap refused for want of memory,
     * map count or file descriptors): Xen has no GNTST for it, so the op reports GENERAL_ERROR and the errno says
     * what ran out, as Linux's xenbus_map_ring_valloc reports ENOMEM for a failed vmalloc.
     */
    public GrantException(GrantStatus status, Errno errno, String detail) {
        super(status.name() + " (" + status.code + "): " + detail);
        this.status = status;
        this.errno = errno;
    }

    public GrantStatus status() {
        return status;
    }

    /** The errno a driver reports this failure with. */
    public Errno errno() {
        return errno;
    }
}
