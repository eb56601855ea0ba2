package org.jxen.system.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import org.jxen.drivers.net.NetLink;
import org.jxen.drivers.net.Offload;

/** In-memory links by name: what a driver transmits is queued for the test, what the test injects reaches the driver. */
final class PipeLinks implements NetLink.Factory {
    static final class Pipe implements NetLink {
        final String name;
        final byte[] mac;
        final BlockingQueue<byte[]> toStack = new LinkedBlockingQueue<>();
        /** The {@link Offload} of each frame in {@link #toStack}, in the same order. */
        final BlockingQueue<Integer> offloads = new LinkedBlockingQueue<>();
        volatile boolean[] offered = {false, false, false};
        volatile FrameHandler handler;
        volatile boolean closed;

        Pipe(String name, byte[] mac) {
            this.name = name;
            this.mac = mac;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void transmit(MemorySegment frame, int offload) {
            offloads.add(offload);
            toStack.add(frame.toArray(ValueLayout.JAVA_BYTE));
        }

        @Override
        public void offloads(boolean csum, boolean tso4, boolean tso6) {
            offered = new boolean[] {csum, tso4, tso6};
        }

        @Override
        public void start(FrameHandler h) {
            handler = h;
        }

        /** As if the stack sent {@code frame} through the device. */
        void inject(byte[] frame) {
            inject(frame, Offload.NONE);
        }

        /** As if the stack sent {@code frame} with {@code offload} left to do. */
        void inject(byte[] frame, int offload) {
            handler.frame(MemorySegment.ofArray(frame), offload);
            handler.idle(); // a stack that sends one frame at a time
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    final Map<String, Pipe> links = new ConcurrentHashMap<>();

    @Override
    public NetLink open(String name, byte[] mac) {
        Pipe p = new Pipe(name, mac);
        links.put(name, p);
        return p;
    }
}
