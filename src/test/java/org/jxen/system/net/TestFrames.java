package org.jxen.system.net;

import java.nio.ByteBuffer;
import java.util.Random;

/** Ethernet frames with real IPv4/IPv6 and TCP/UDP headers, the rest random; checksums left as the test says. */
final class TestFrames {
    static final int TCP = 6;
    static final int UDP = 17;

    private TestFrames() {}

    /** An IPv4 frame of {@code len} bytes: 10.0.0.1 to 10.0.0.2, {@code proto} from port 1234 to 80. */
    static byte[] ipv4(int len, int proto, long seed) {
        byte[] f = random(len, seed);
        ByteBuffer b = ByteBuffer.wrap(f);
        ethernet(b, 0x0800);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (len - 14)).putShort((short) 0).putShort((short) 0x4000)
                .put((byte) 64).put((byte) proto).putShort((short) 0).putInt(0x0a000001).putInt(0x0a000002);
        l4(b, proto, len - 34);
        return f;
    }

    /** An IPv6 frame of {@code len} bytes: fd00::1 to fd00::2, {@code proto} from port 1234 to 80. */
    static byte[] ipv6(int len, int proto, long seed) {
        byte[] f = random(len, seed);
        ByteBuffer b = ByteBuffer.wrap(f);
        ethernet(b, 0x86DD);
        b.putInt(0x60000000).putShort((short) (len - 54)).put((byte) proto).put((byte) 64);
        b.putLong(0xfd00000000000000L).putLong(1).putLong(0xfd00000000000000L).putLong(2);
        l4(b, proto, len - 54);
        return f;
    }

    private static byte[] random(int len, long seed) {
        byte[] f = new byte[len];
        new Random(seed).nextBytes(f);
        return f;
    }

    private static void ethernet(ByteBuffer b, int type) {
        b.put(new byte[] {0, 0x16, 0x3e, 0, 0, 2, 0, 0x16, 0x3e, 0, 0, 1}).putShort((short) type);
    }

    private static void l4(ByteBuffer b, int proto, int l4len) {
        b.putShort((short) 1234).putShort((short) 80);
        if (proto == TCP) {
            b.putInt(1).putInt(0).put((byte) 0x50).put((byte) 0x18).putShort((short) 512).putShort((short) 0).putShort((short) 0);
        } else {
            b.putShort((short) l4len).putShort((short) 0);
        }
    }
}
