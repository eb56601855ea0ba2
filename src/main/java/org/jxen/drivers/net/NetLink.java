package org.jxen.drivers.net;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * The host side of a network device: what a Linux driver's net_device is to the stack. netback's is {@code vifD.N}
 * in dom0, netfront's the guest's {@code eth0}; both are TAP devices ({@link TapLink}), or a test's pipe.
 * Frames are whole Ethernet frames without any prefix; each carries its {@link Offload} (checksum state, GSO
 * request) beside it, as an skb does.
 */
public interface NetLink extends AutoCloseable {
    /**
     * Receives the frames the stack sends through the device, one call per frame, on the link's own thread, and
     * {@link #idle} when none is waiting.
     */
    @FunctionalInterface
    interface FrameHandler {
        /**
         * {@code frame} is valid only during the call. The call may block (the ring is full): the link then stops
         * reading, and the stack's own queue fills and drops, as a stopped netdev queue does in Linux.
         * {@code offload} is what {@link #offloads} allowed the stack to leave undone ({@link Offload}).
         */
        void frame(MemorySegment frame, int offload);

        /**
         * No frame is waiting: the link is about to sleep. What a driver held back to do once per batch (push the
         * ring, notify the other end) is done now, as Linux's drivers do at the end of a NAPI poll or an xmit_more
         * run.
         */
        default void idle() {}
    }

    /** Opens links by name ({@code vif5.0}, {@code eth0}). */
    @FunctionalInterface
    interface Factory {
        /** The device, with Ethernet address {@code mac} (null: leave it), not yet reading. */
        NetLink open(String name, byte[] mac) throws IOException;
    }

    String name();

    /**
     * Hands one frame to the stack (the device "receives" it) with its {@link Offload}: a partial checksum is
     * completed by the stack, a GSO frame is segmented by it if it must be.
     */
    void transmit(MemorySegment frame, int offload) throws IOException;

    /**
     * As {@link #transmit(MemorySegment, int)} for a frame held in {@code n} pieces, in order (the pages a driver
     * copied it into): a TAP device writes them with one writev, without gathering them first. The headers a partial
     * checksum needs are in the first piece.
     */
    default void transmit(MemorySegment[] pieces, int n, int offload) throws IOException {
        long len = 0;
        for (int i = 0; i < n; i++) len += pieces[i].byteSize();
        MemorySegment f = MemorySegment.ofArray(new byte[(int) len]);
        for (int i = 0, at = 0; i < n; at += (int) pieces[i].byteSize(), i++) MemorySegment.copy(pieces[i], 0, f, at, pieces[i].byteSize());
        transmit(f, offload);
    }

    /** A frame with nothing left to do. */
    default void transmit(MemorySegment frame) throws IOException {
        transmit(frame, Offload.NONE);
    }

    /**
     * What the handler can take from now on, as a net_device's features: partial checksums ({@code csum}) and TCP
     * super-frames of up to 64 KiB ({@code tso4}, {@code tso6}; only with {@code csum}). Without them the stack
     * finishes checksums and segments before the handler sees a frame. A link that cannot offload ignores this.
     */
    default void offloads(boolean csum, boolean tso4, boolean tso6) throws IOException {}

    /** Starts reading frames from the stack into {@code handler}; once. */
    void start(FrameHandler handler);

    /** Stops reading (waits for the reader) and removes the device. Idempotent. */
    @Override
    void close();
}
