package org.jxen.hypervisor;

/** The Linux errno values Xen's hypercalls return and drivers report (negated on the wire, positive here). */
public enum Errno {
    EPERM(1), ENOENT(2), ESRCH(3), EINTR(4), EIO(5), EBADF(9), EAGAIN(11), ENOMEM(12), EACCES(13), EFAULT(14),
    EBUSY(16), EEXIST(17), EINVAL(22), ENOSPC(28), EROFS(30), ENOSYS(38), EPROTO(71), EUSERS(87), EOPNOTSUPP(95);

    public final int code;

    Errno(int code) {
        this.code = code;
    }

    /** Unknown numbers become EINVAL, so a newer host never crashes an older guest's decoder. */
    public static Errno of(int code) {
        for (Errno e : values()) {
            if (e.code == code) return e;
        }
        return EINVAL;
    }
}
