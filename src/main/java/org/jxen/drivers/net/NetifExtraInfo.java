package org.jxen.drivers.net;

import static org.jxen.drivers.net.Netif.U16;
import static org.jxen.drivers.net.Netif.U8;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over struct netif_extra_info, which takes a whole ring slot after a packet's first slot (12 bytes on
 * tx, the last 4 padding; 8 on rx):
 *
 * <pre>
 *  0 u8 type (XEN_NETIF_EXTRA_TYPE_*)   1 u8 flags (XEN_NETIF_EXTRA_FLAG_*)
 *  2..7 union: gso   { 2 u16 size (MSS)   4 u8 type   5 u8 pad   6 u16 features }
 *              mcast { 2..7 u8 addr[6] }
 *              hash  { 2 u8 type   3 u8 algorithm   4..7 u8 value[4] }
 * </pre>
 */
public final class NetifExtraInfo {
    public static final int SIZE = 8;
    public static final long TYPE_OFFSET = 0;
    public static final long FLAGS_OFFSET = 1;
    public static final long GSO_SIZE_OFFSET = 2;
    public static final long GSO_TYPE_OFFSET = 4;
    public static final long GSO_PAD_OFFSET = 5;
    public static final long GSO_FEATURES_OFFSET = 6;
    public static final long MCAST_ADDR_OFFSET = 2;
    public static final long HASH_TYPE_OFFSET = 2;
    public static final long HASH_ALGORITHM_OFFSET = 3;
    public static final long HASH_VALUE_OFFSET = 4;

    private MemorySegment s;

    public NetifExtraInfo wrap(MemorySegment slot) {
        this.s = slot;
        return this;
    }

    public int type() {
        return Byte.toUnsignedInt(s.get(U8, TYPE_OFFSET));
    }

    public int flags() {
        return Byte.toUnsignedInt(s.get(U8, FLAGS_OFFSET));
    }

    public int gsoSize() {
        return Short.toUnsignedInt(s.get(U16, GSO_SIZE_OFFSET));
    }

    public int gsoType() {
        return Byte.toUnsignedInt(s.get(U8, GSO_TYPE_OFFSET));
    }

    public int gsoFeatures() {
        return Short.toUnsignedInt(s.get(U16, GSO_FEATURES_OFFSET));
    }

    /** The 6 bytes of mcast.addr. */
    public byte[] mcastAddr() {
        return s.asSlice(MCAST_ADDR_OFFSET, 6).toArray(U8);
    }

    public int hashType() {
        return Byte.toUnsignedInt(s.get(U8, HASH_TYPE_OFFSET));
    }

    public int hashAlgorithm() {
        return Byte.toUnsignedInt(s.get(U8, HASH_ALGORITHM_OFFSET));
    }

    /** hash.value as the little-endian u32 the header documents it to be. */
    public int hashValue() {
        return s.get(Netif.U32, HASH_VALUE_OFFSET);
    }

    /** A GSO extra: all 8 bytes written, pad zeroed. */
    public NetifExtraInfo setGso(int flags, int size, int gsoType, int features) {
        s.set(U8, TYPE_OFFSET, (byte) Netif.EXTRA_TYPE_GSO);
        s.set(U8, FLAGS_OFFSET, (byte) flags);
        s.set(U16, GSO_SIZE_OFFSET, (short) size);
        s.set(U8, GSO_TYPE_OFFSET, (byte) gsoType);
        s.set(U8, GSO_PAD_OFFSET, (byte) 0);
        s.set(U16, GSO_FEATURES_OFFSET, (short) features);
        return this;
    }

    /** A multicast add or delete ({@code type} MCAST_ADD or MCAST_DEL). */
    public NetifExtraInfo setMcast(int type, int flags, byte[] addr) {
        if (addr.length != 6) throw new IllegalArgumentException("a MAC address has 6 bytes");
        s.set(U8, TYPE_OFFSET, (byte) type);
        s.set(U8, FLAGS_OFFSET, (byte) flags);
        MemorySegment.copy(addr, 0, s, U8, MCAST_ADDR_OFFSET, 6);
        return this;
    }

    /** Any type, the union left as it is (what a test of a bad type writes). */
    public NetifExtraInfo setType(int type, int flags) {
        s.set(U8, TYPE_OFFSET, (byte) type);
        s.set(U8, FLAGS_OFFSET, (byte) flags);
        return this;
    }
}
