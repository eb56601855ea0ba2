package org.jxen.ring;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import org.jxen.libc.Futex;

/**
 * One direction of an event channel between two processes, as the ring tests need it: a pending word in a
 * shared file mapping. {@link #notifyPeer} sets it and wakes the waiter's futex; {@link #await} sleeps until it
 * is set and clears it. Like an event channel, notifications that arrive while one is pending coalesce into one,
 * and a notification sent before the peer waits is not lost.
 */
final class FutexDoorbell implements RingNotifier {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private final MemorySegment word;

    /** {@code word}: 4 aligned bytes of a MAP_SHARED mapping, zero when nothing is pending. */
    FutexDoorbell(MemorySegment word) {
        this.word = word;
    }

    @Override
    public void notifyPeer() {
        INT.setVolatile(word, 0L, 1);
        Futex.wake(word, Integer.MAX_VALUE);
    }

    /** Returns once a notification is pending, consuming it. */
    void await() {
        while ((int) INT.getAndSet(word, 0L, 0) == 0) Futex.await(word, 0);
    }
}
