package org.jxen.drivers.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The L4 checksum of a frame whose checksum is left partial (CHECKSUM_PARTIAL): where it is, as Linux's
 * skb_checksum_setup finds it from the headers when netback or netfront receives csum_blank (netif does not carry
 * csum_start/csum_offset); the pseudo-header sum that a GSO frame must hold there (the "recalculate" of
 * skb_checksum_setup for peers that send GSO without csum_blank); and completing it in software
 * (skb_checksum_help) for a peer that cannot take a partial checksum. IPv4 and IPv6 (with hop-by-hop, routing
 * and destination-options headers), TCP and UDP, optionally behind one 802.1Q tag.
 */
public final class Checksums {
    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    private static final int TCP = 6;
    private static final int UDP = 17;

    private Checksums() {}

    /**
     * Where the checksum is: {@code csum_start << 16 | csum_offset} (start from the frame's first byte, offset
     * from start), or -1 when the frame is not TCP or UDP over IP (skb_checksum_setup's -EPROTO).
     */
    public static int locate(MemorySegment f) {
        long n = f.byteSize();
        if (n < Netif.ETH_HLEN) return -1;
        int l3 = Netif.ETH_HLEN;
        int type = u16(f, 12);
        if (type == 0x8100 && n >= 18) {
            type = u16(f, 16);
            l3 += 4;
        }
        int proto;
        int l4;
        if (type == 0x0800) {
            if (n < l3 + 20) return -1;
            int ihl = (f.get(U8, l3) & 0xF) * 4;
            if (ihl < 20 || (u16(f, l3 + 6) & 0x3FFF) != 0) return -1; // a fragment carries no L4 header to fill
            proto = f.get(U8, l3 + 9) & 0xFF;
            l4 = l3 + ihl;
        } else if (type == 0x86DD) {
            if (n < l3 + 40) return -1;
            proto = f.get(U8, l3 + 6) & 0xFF;
            l4 = l3 + 40;
            while (proto == 0 || proto == 43 || proto == 60) { // hop-by-hop, routing, destination options
                if (n < l4 + 8) return -1;
                proto = f.get(U8, l4) & 0xFF;
                l4 += ((f.get(U8, l4 + 1) & 0xFF) + 1) * 8;
            }
        } else {
            return -1;
        }
        int off = proto == TCP ? 16 : proto == UDP ? 6 : -1;
        if (off < 0 || n < l4 + off + 2 || l4 > 0xFFFF) return -1;
        return l4 << 16 | off;
    }

    /**
     * Writes the folded pseudo-header sum (addresses, protocol, L4 length) into the checksum field, which is what a
     * partial checksum holds; false if the frame is not TCP/UDP over IP.
     */
    public static boolean setPseudoHeader(MemorySegment f) {
        return setPseudoHeader(f, f.byteSize());
    }

    /** As {@link #setPseudoHeader(MemorySegment)} with {@code head} the frame's first bytes, {@code frameLength} its size. */
    public static boolean setPseudoHeader(MemorySegment head, long frameLength) {
        MemorySegment f = head;
        int at = locate(f);
        if (at < 0) return false;
        int start = at >>> 16;
        int l3 = u16(f, 12) == 0x8100 ? Netif.ETH_HLEN + 4 : Netif.ETH_HLEN;
        long len = frameLength - start;
        long sum;
        int proto;
        if ((f.get(U8, l3) & 0xF0) == 0x40) {
            sum = sum(f, l3 + 12, 8, 0);
            proto = f.get(U8, l3 + 9) & 0xFF;
        } else {
            sum = sum(f, l3 + 8, 32, 0);
            proto = (at & 0xFFFF) == 16 ? TCP : UDP;
        }
        sum += proto + len;
        f.set(BE16, start + (at & 0xFFFF), (short) fold(sum));
        return true;
    }

    /**
     * Completes a partial checksum in software (skb_checksum_help): the sum from csum_start to the end, the pseudo
     * header already in the field; false if the frame is not TCP/UDP over IP.
     */
    public static boolean complete(MemorySegment f) {
        int at = locate(f);
        if (at < 0) return false;
        int start = at >>> 16;
        int field = start + (at & 0xFFFF);
        int c = ~fold(sum(f, start, f.byteSize() - start, 0)) & 0xFFFF;
        f.set(BE16, field, (short) (c == 0 ? 0xFFFF : c)); // CSUM_MANGLED_0
        return true;
    }

    /** Whether the frame is IPv6 (behind at most one VLAN tag). */
    public static boolean ipv6(MemorySegment f) {
        if (f.byteSize() < Netif.ETH_HLEN) return false;
        int type = u16(f, 12);
        if (type == 0x8100 && f.byteSize() >= 18) type = u16(f, 16);
        return type == 0x86DD;
    }

    /** The one's-complement sum of big-endian 16-bit words of f[from, from+len), not folded, plus {@code sum}. */
    static long sum(MemorySegment f, long from, long len, long sum) {
        long i = 0;
        for (; i + 1 < len; i += 2) sum += u16(f, from + i);
        if (i < len) sum += (f.get(U8, from + i) & 0xFF) << 8;
        return sum;
    }

    static int fold(long sum) {
        while ((sum >>> 16) != 0) sum = (sum & 0xFFFF) + (sum >>> 16);
        return (int) sum;
    }

    private static int u16(MemorySegment f, long at) {
        return Short.toUnsignedInt(f.get(BE16, at));
    }
}
