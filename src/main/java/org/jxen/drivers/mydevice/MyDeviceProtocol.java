package org.jxen.drivers.mydevice;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * The ring protocol of the seed's chapters 3-4: a request is one character, a response a 32-character,
 * NUL-padded message; a ring entry is the union of the two. The store keys the frontend publishes are
 * {@code rx-ring-ref} and {@code event-channel}.
 */
final class MyDeviceProtocol {
    static final int MESSAGE_SIZE = 32;
    static final int ENTRY_SIZE = MESSAGE_SIZE;
    static final String RING_REF = "rx-ring-ref";
    static final String EVENT_CHANNEL = "event-channel";
    static final byte HELLO_REQUEST = 'h';
    static final String HELLO_RESPONSE = "Hello world";

    private MyDeviceProtocol() {}

    static void writeMessage(MemorySegment entry, String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        int n = Math.min(b.length, MESSAGE_SIZE - 1);
        entry.asSlice(0, MESSAGE_SIZE).fill((byte) 0);
        MemorySegment.copy(b, 0, entry, ValueLayout.JAVA_BYTE, 0, n);
    }

    /** The message up to its NUL (or all 32 bytes), from a private copy of the entry. */
    static String readMessage(MemorySegment entry) {
        byte[] b = entry.asSlice(0, MESSAGE_SIZE).toArray(ValueLayout.JAVA_BYTE);
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return new String(b, 0, n, StandardCharsets.US_ASCII);
    }
}
