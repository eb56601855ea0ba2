package org.jxen.drivers.net;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Constants of xen/include/public/io/netif.h (x86 ABI, little-endian) and the layouts the flyweights use. The
 * tx and rx flag bits are different on purpose (csum_blank and data_validated swap places): each direction has
 * its own names here, so a flag of one ring can never be tested with the other's constant by accident.
 */
public final class Netif {
    // ---- NETTXF_*: flags of a tx request ----
    public static final int TXF_CSUM_BLANK = 1 << 0;
    public static final int TXF_DATA_VALIDATED = 1 << 1;
    public static final int TXF_MORE_DATA = 1 << 2;
    public static final int TXF_EXTRA_INFO = 1 << 3;

    // ---- NETRXF_*: flags of an rx response ----
    public static final int RXF_DATA_VALIDATED = 1 << 0;
    public static final int RXF_CSUM_BLANK = 1 << 1;
    public static final int RXF_MORE_DATA = 1 << 2;
    public static final int RXF_EXTRA_INFO = 1 << 3;
    /** Deprecated in netif.h; never produced here. */
    public static final int RXF_GSO_PREFIX = 1 << 4;

    // ---- NETIF_RSP_*: response status ----
    public static final short RSP_DROPPED = -2;
    public static final short RSP_ERROR = -1;
    public static final short RSP_OKAY = 0;
    /** The response paired with an extra-info slot. */
    public static final short RSP_NULL = 1;

    // ---- XEN_NETIF_EXTRA_TYPE_* and flags ----
    public static final int EXTRA_TYPE_NONE = 0;
    public static final int EXTRA_TYPE_GSO = 1;
    public static final int EXTRA_TYPE_MCAST_ADD = 2;
    public static final int EXTRA_TYPE_MCAST_DEL = 3;
    public static final int EXTRA_TYPE_HASH = 4;
    /** XEN_NETIF_EXTRA_TYPE_MAX in Xen's header: a type at or above it is invalid. */
    public static final int EXTRA_TYPE_MAX = 5;
    public static final int EXTRA_FLAG_MORE = 1 << 0;

    // ---- XEN_NETIF_GSO_TYPE_* ----
    public static final int GSO_TYPE_NONE = 0;
    public static final int GSO_TYPE_TCPV4 = 1;
    public static final int GSO_TYPE_TCPV6 = 2;

    // ---- ctrl ring (types and status) ----
    public static final int CTRL_TYPE_INVALID = 0;
    public static final int CTRL_TYPE_GET_HASH_FLAGS = 1;
    public static final int CTRL_TYPE_SET_HASH_FLAGS = 2;
    public static final int CTRL_TYPE_SET_HASH_KEY = 3;
    public static final int CTRL_TYPE_GET_HASH_MAPPING_SIZE = 4;
    public static final int CTRL_TYPE_SET_HASH_MAPPING_SIZE = 5;
    public static final int CTRL_TYPE_SET_HASH_MAPPING = 6;
    public static final int CTRL_TYPE_SET_HASH_ALGORITHM = 7;
    public static final int CTRL_TYPE_GET_GREF_MAPPING_SIZE = 8;
    public static final int CTRL_TYPE_ADD_GREF_MAPPING = 9;
    public static final int CTRL_TYPE_DEL_GREF_MAPPING = 10;
    public static final int CTRL_STATUS_SUCCESS = 0;
    public static final int CTRL_STATUS_NOT_SUPPORTED = 1;
    public static final int CTRL_STATUS_INVALID_PARAMETER = 2;
    public static final int CTRL_STATUS_BUFFER_OVERFLOW = 3;
    public static final int CTRL_HASH_ALGORITHM_NONE = 0;
    public static final int CTRL_HASH_ALGORITHM_TOEPLITZ = 1;
    /** Bit numbers of the hash types (_XEN_NETIF_CTRL_HASH_TYPE_*); the flags are 1 << these. */
    public static final int CTRL_HASH_TYPE_IPV4 = 0;
    public static final int CTRL_HASH_TYPE_IPV4_TCP = 1;
    public static final int CTRL_HASH_TYPE_IPV6 = 2;
    public static final int CTRL_HASH_TYPE_IPV6_TCP = 3;

    /** XEN_NETIF_MAX_TX_SIZE: the largest packet a tx request's size field can describe. */
    public static final int MAX_TX_SIZE = 0xFFFF;
    /** XEN_NETIF_NR_SLOTS_MIN: slots every backend must accept for one packet. */
    public static final int NR_SLOTS_MIN = 18;
    public static final int PAGE_SIZE = 4096;
    /** ETH_HLEN: a frame shorter than its Ethernet header is dropped by netback. */
    public static final int ETH_HLEN = 14;

    /** The tx ring entry: union of request (12) and response (4); an extra-info takes a whole slot. */
    public static final int TX_ENTRY_SIZE = 12;
    /** The rx ring entry: union of request (8) and response (8). */
    public static final int RX_ENTRY_SIZE = 8;
    /** The ctrl ring entry: union of request (16) and response (12). */
    public static final int CTRL_ENTRY_SIZE = 16;
    /** NET_TX_RING_SIZE for one page: 4032 / 12 = 336, rounded down to 256. */
    public static final int TX_RING_SIZE = 256;
    /** NET_RX_RING_SIZE for one page: 4032 / 8 = 504, rounded down to 256. */
    public static final int RX_RING_SIZE = 256;
    /** The ctrl ring for one page: 4032 / 16 = 252, rounded down to 128. */
    public static final int CTRL_RING_SIZE = 128;

    static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Netif() {}
}
