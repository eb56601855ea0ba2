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
interface MyDeviceProtocol {
    int ENTRY_SIZE = 32;
    String RING = "rx";
    RingKeys KEYS = RingKeys.single(RING);
    byte HELLO_REQUEST = 'h';
    String HELLO_RESPONSE = "Hello world";

    static void writeMessage(MemorySegment entry, String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        entry.asSlice(0, ENTRY_SIZE).fill((byte) 0);
        MemorySegment.copy(b, 0, entry, ValueLayout.JAVA_BYTE, 0, Math.min(b.length, ENTRY_SIZE - 1));
    }

    /**
     * The message up to its NUL (or all 32 bytes), from a private copy of the entry. Copied into an array, not
     * taken with {@code toArray}: that makes a heap segment, and the first heap segment a JVM makes invalidates the
     * code compiled for the native ones (docs/bench.md, "Session 14").
     */
    static String readMessage(MemorySegment entry) {
        byte[] copy = new byte[ENTRY_SIZE];
        MemorySegment.copy(entry, ValueLayout.JAVA_BYTE, 0, copy, 0, ENTRY_SIZE);
        return new String(copy, StandardCharsets.US_ASCII).split("\0", 2)[0];
    }
}
