package org.jxen.xenstore;

/** Constants of xs_wire.h. */
public final class XsWire {
    /** struct xsd_sockmsg: u32 type, req_id, tx_id, len (little-endian on every Xen platform we emulate). */
    public static final int HEADER_SIZE = 16;
    /** XENSTORE_PAYLOAD_MAX. */
    public static final int PAYLOAD_MAX = 4096;
    /** XENSTORE_ABS_PATH_MAX. */
    public static final int ABS_PATH_MAX = 3072;
    /** XENSTORE_REL_PATH_MAX. */
    public static final int REL_PATH_MAX = 2048;

    private XsWire() {}
}
