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

    /** glibc's strerror text, what libxl's LOGE lines end with. */
    public String strerror() {
        return switch (this) {
            case EPERM -> "Operation not permitted";
            case ENOENT -> "No such file or directory";
            case ESRCH -> "No such process";
            case EINTR -> "Interrupted system call";
            case EIO -> "Input/output error";
            case ENXIO -> "No such device or address";
            case E2BIG -> "Argument list too long";
            case EBADF -> "Bad file descriptor";
            case EAGAIN -> "Resource temporarily unavailable";
            case ENOMEM -> "Cannot allocate memory";
            case EACCES -> "Permission denied";
            case EFAULT -> "Bad address";
            case EBUSY -> "Device or resource busy";
            case EEXIST -> "File exists";
            case ENODEV -> "No such device";
            case ENOTDIR -> "Not a directory";
            case EISDIR -> "Is a directory";
            case EINVAL -> "Invalid argument";
            case ENFILE -> "Too many open files in system";
            case EMFILE -> "Too many open files";
            case EFBIG -> "File too large";
            case ENOSPC -> "No space left on device";
            case ESPIPE -> "Illegal seek";
            case EROFS -> "Read-only file system";
            case ERANGE -> "Numerical result out of range";
            case ENOSYS -> "Function not implemented";
            case ENOTEMPTY -> "Directory not empty";
            case EPROTO -> "Protocol error";
            case EOVERFLOW -> "Value too large for defined data type";
            case EUSERS -> "Too many users";
            case EOPNOTSUPP -> "Operation not supported";
            case ETIMEDOUT -> "Connection timed out";
        };
    }

    /** Unknown numbers become EINVAL, so a newer host never crashes an older guest's decoder. */
    public static Errno of(int code) {
        for (Errno e : values()) {
            if (e.code == code) return e;
        }
        return EINVAL;
    }
}
