package org.jxen.drivers.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Picks a queue for a frame by its flow, as Linux's skb_get_hash does for netfront's select_queue and netback's
 * xenvif_select_queue: the IPv4/IPv6 addresses, protocol and TCP/UDP ports, so one connection stays on one queue
 * (in order) and different connections spread over the queues. Anything else goes to queue 0.
 */
public final class Flows {
    private Flows() {}

    public static int queueOf(MemorySegment frame, int queues) {
        if (queues <= 1 || frame.byteSize() < 34) return 0;
        int type = Short.toUnsignedInt(frame.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 12));
        int h;
        int l4;
        int proto;
        if (type == 0x0800) {
            int ihl = (frame.get(ValueLayout.JAVA_BYTE, 14) & 0xF) * 4;
            proto = frame.get(ValueLayout.JAVA_BYTE, 23) & 0xFF;
            h = frame.get(ValueLayout.JAVA_INT_UNALIGNED, 26) ^ frame.get(ValueLayout.JAVA_INT_UNALIGNED, 30);
            l4 = 14 + ihl;
        } else if (type == 0x86DD && frame.byteSize() >= 54) {
            proto = frame.get(ValueLayout.JAVA_BYTE, 20) & 0xFF;
            h = 0;
            for (int i = 22; i < 54; i += 4) h ^= frame.get(ValueLayout.JAVA_INT_UNALIGNED, i);
            l4 = 54;
        } else {
            return 0;
        }
        if ((proto == 6 || proto == 17) && frame.byteSize() >= l4 + 4) h ^= frame.get(ValueLayout.JAVA_INT_UNALIGNED, l4);
        h ^= proto;
        h ^= h >>> 16;
        h *= 0x45d9f3b;
        h ^= h >>> 16;
        return Math.floorMod(h, queues);
    }
}
