package org.jxen.hypervisor;

/** A grant map or unmap failed; {@link #status()} is the GNTST code Xen would put in the op's status field. */
public class GrantException extends Exception {
    private static final long serialVersionUID = 1L;
    private final GrantStatus status;

    public GrantException(GrantStatus status, String detail) {
        super(status.name() + " (" + status.code + "): " + detail);
        this.status = status;
    }

    public GrantStatus status() {
        return status;
    }
}
