package org.jxen.drivers.mydevice;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import org.jxen.xenbus.RingKeys;

/**
 * The ring protocol of the seed's chapters 3-4, shared by both ends: a request is one character, a response a
 * 32-character, NUL-padded message; a ring entry is the union of the two. The frontend publishes one one-page
 * ring as {@code rx-ring-ref} and its channel as {@code event-channel}.
 */
final class MyDeviceProtocol {
    static final int ENTRY_SIZE = 32;
    static final RingKeys KEYS = RingKeys.single("rx");
    static final String RING = "rx";
    static final byte HELLO_REQUEST = 'h';
    static final String HELLO_RESPONSE = "Hello world";

    private MyDeviceProtocol() {}

    static void writeMessage(MemorySegment entry, String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        entry.asSlice(0, ENTRY_SIZE).fill((byte) 0);
        MemorySegment.copy(b, 0, entry, ValueLayout.JAVA_BYTE, 0, Math.min(b.length, ENTRY_SIZE - 1));
    }

    /** The message up to its NUL (or all 32 bytes), from a private copy of the entry. */
    static String readMessage(MemorySegment entry) {
        byte[] b = entry.asSlice(0, ENTRY_SIZE).toArray(ValueLayout.JAVA_BYTE);
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return new String(b, 0, n, StandardCharsets.US_ASCII);
    }
}
