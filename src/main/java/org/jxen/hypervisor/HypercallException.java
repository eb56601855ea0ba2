package org.jxen.hypervisor;

/** A hypercall failed with a Xen errno. */
public class HypercallException extends Exception {
    private static final long serialVersionUID = 1L;
    private final Errno errno;

    public HypercallException(Errno errno, String detail) {
        super(errno.name() + ": " + detail);
        this.errno = errno;
    }

    public Errno errno() {
        return errno;
    }
}
