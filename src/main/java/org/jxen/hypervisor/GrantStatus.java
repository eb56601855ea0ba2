package org.jxen.hypervisor;

/** GNTST_* codes of grant_table.h: what map, unmap and copy report per operation. */
public enum GrantStatus {
    OKAY(0), GENERAL_ERROR(-1), BAD_DOMAIN(-2), BAD_GNTREF(-3), BAD_HANDLE(-4), BAD_VIRT_ADDR(-5),
    BAD_DEV_ADDR(-6), NO_DEVICE_SPACE(-7), PERMISSION_DENIED(-8), BAD_PAGE(-9), BAD_COPY_ARG(-10),
    ADDRESS_TOO_BIG(-11), EAGAIN(-12), NO_SPACE(-13);

    public final int code;

    GrantStatus(int code) {
        this.code = code;
    }

    /**
     * The errno a Linux driver reports a failed op with (xenbus_dev_fatal): out of handles is ENOSPC, a grant that
     * is not there (yet) EAGAIN or ENOENT, a refusal EPERM; anything else EIO.
     */
    public Errno errno() {
        return switch (this) {
            case OKAY -> Errno.EIO;
            case NO_SPACE, NO_DEVICE_SPACE -> Errno.ENOSPC;
            case EAGAIN -> Errno.EAGAIN;
            case PERMISSION_DENIED -> Errno.EPERM;
            case BAD_DOMAIN -> Errno.ESRCH;
            case BAD_GNTREF, BAD_HANDLE, BAD_COPY_ARG -> Errno.EINVAL;
            default -> Errno.EIO;
        };
    }

    public static GrantStatus of(int code) {
        for (GrantStatus s : values()) {
            if (s.code == code) return s;
        }
        return GENERAL_ERROR;
    }
}
