package org.jxen.system.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import org.jxen.drivers.net.NetLink;

/** In-memory links by name: what a driver transmits is queued for the test, what the test injects reaches the driver. */
final class PipeLinks implements NetLink.Factory {
    static final class Pipe implements NetLink {
        final String name;
        final byte[] mac;
        final BlockingQueue<byte[]> toStack = new LinkedBlockingQueue<>();
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
        public void transmit(MemorySegment frame) {
            toStack.add(frame.toArray(ValueLayout.JAVA_BYTE));
        }

        @Override
        public void start(FrameHandler h) {
            handler = h;
        }

        /** As if the stack sent {@code frame} through the device. */
        void inject(byte[] frame) {
            handler.frame(MemorySegment.ofArray(frame));
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
