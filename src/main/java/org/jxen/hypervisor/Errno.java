package org.jxen.hypervisor;

/** The Linux errno values Xen's hypercalls return (negated on the wire, positive here). */
public enum Errno {
    EPERM(1), ENOENT(2), ESRCH(3), EINTR(4), EIO(5), ENXIO(6), E2BIG(7), EBADF(9), EAGAIN(11), ENOMEM(12),
    EACCES(13), EFAULT(14), EBUSY(16), EEXIST(17), ENODEV(19), ENOTDIR(20), EISDIR(21), EINVAL(22), ENFILE(23),
    EMFILE(24), EFBIG(27), ENOSPC(28), ESPIPE(29), EROFS(30), ERANGE(34), ENOSYS(38), ENOTEMPTY(39), EPROTO(71),
    EOVERFLOW(75), EUSERS(87), EOPNOTSUPP(95), ETIMEDOUT(110);

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
