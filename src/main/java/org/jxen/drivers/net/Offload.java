package org.jxen.drivers.net;

/**
 * What travels with a frame besides its bytes: the checksum state and the GSO request of a Linux skb, packed in
 * one int so that a frame's metadata costs no allocation. It is what netif carries (NETTXF/NETRXF csum_blank and
 * data_validated, the GSO extra's size and type) and what a TAP device's struct virtio_net_hdr carries, so each
 * driver translates between the two. The position of the checksum is not carried, as it is not on the rings:
 * whoever needs it finds it in the headers ({@link Checksums#locate}), as Linux's skb_checksum_setup does.
 *
 * <pre>
 *  bit 0 partial (CHECKSUM_PARTIAL: the L4 checksum holds the pseudo-header sum, to be completed)
 *  bit 1 valid   (CHECKSUM_UNNECESSARY: the data was checked)
 *  bits 2-3 GSO type (Netif.GSO_TYPE_*)    bits 16-31 GSO size (the MSS)
 * </pre>
 */
public final class Offload {
    public static final int NONE = 0;
    public static final int PARTIAL = 1;
    public static final int VALID = 2;

    private Offload() {}

    public static int of(boolean partial, boolean valid, int gsoType, int gsoSize) {
        return (partial ? PARTIAL : 0) | (valid ? VALID : 0) | (gsoType & 3) << 2 | (gsoSize & 0xFFFF) << 16;
    }

    public static boolean partial(int o) {
        return (o & PARTIAL) != 0;
    }

    public static boolean valid(int o) {
        return (o & VALID) != 0;
    }

    /** Netif.GSO_TYPE_NONE, _TCPV4 or _TCPV6. */
    public static int gsoType(int o) {
        return o >>> 2 & 3;
    }

    public static int gsoSize(int o) {
        return o >>> 16;
    }

    public static boolean gso(int o) {
        return gsoType(o) != Netif.GSO_TYPE_NONE;
    }

    /** The NETTXF_* checksum flags of a tx request, as xennet_start_xmit sets them. */
    public static int txFlags(int o) {
        if (partial(o)) return Netif.TXF_CSUM_BLANK | Netif.TXF_DATA_VALIDATED;
        return valid(o) ? Netif.TXF_DATA_VALIDATED : 0;
    }

    /** The NETRXF_* checksum flags of an rx response, as netback's xenvif_rx_next_skb sets them. */
    public static int rxFlags(int o) {
        if (partial(o)) return Netif.RXF_CSUM_BLANK | Netif.RXF_DATA_VALIDATED;
        return valid(o) ? Netif.RXF_DATA_VALIDATED : 0;
    }

    /** From a tx request's flags and its GSO extra (type NONE when there was none). */
    public static int fromTx(int txFlags, int gsoType, int gsoSize) {
        return of((txFlags & Netif.TXF_CSUM_BLANK) != 0, (txFlags & Netif.TXF_DATA_VALIDATED) != 0, gsoType, gsoSize);
    }

    /** From an rx response's flags and its GSO extra (type NONE when there was none). */
    public static int fromRx(int rxFlags, int gsoType, int gsoSize) {
        return of((rxFlags & Netif.RXF_CSUM_BLANK) != 0, (rxFlags & Netif.RXF_DATA_VALIDATED) != 0, gsoType, gsoSize);
    }

    public static String toString(int o) {
        return (partial(o) ? "partial" : valid(o) ? "valid" : "none")
                + (gso(o) ? " gso " + (gsoType(o) == Netif.GSO_TYPE_TCPV4 ? "tcpv4" : "tcpv6") + "/" + gsoSize(o) : "");
    }
}
