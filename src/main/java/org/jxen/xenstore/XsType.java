package org.jxen.xenstore;

/** Message types of xs_wire.h ({@code enum xsd_sockmsg_type}); the code is the wire value. */
public enum XsType {
    CONTROL(0), DIRECTORY(1), READ(2), GET_PERMS(3), WATCH(4), UNWATCH(5),
    TRANSACTION_START(6), TRANSACTION_END(7), INTRODUCE(8), RELEASE(9), GET_DOMAIN_PATH(10),
    WRITE(11), MKDIR(12), RM(13), SET_PERMS(14), WATCH_EVENT(15), ERROR(16),
    IS_DOMAIN_INTRODUCED(17), RESUME(18), SET_TARGET(19), RESTRICT(20), RESET_WATCHES(21),
    DIRECTORY_PART(22), GET_FEATURE(23), SET_FEATURE(24), GET_QUOTA(25), SET_QUOTA(26);

    private static final XsType[] BY_CODE = values();

    public final int code;

    XsType(int code) {
        this.code = code;
    }

    /** The type with this wire code, or {@code null} for a code xs_wire.h does not define. */
    public static XsType of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    /** Name for logs and traces: the enum name, or {@code TYPE_<n>} for an unknown code. */
    public static String name(int code) {
        XsType t = of(code);
        return t != null ? t.name() : "TYPE_" + Integer.toUnsignedString(code);
    }
}
