package org.jxen.drivers.net;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;

/**
 * A connected vif's queues, at either end (netback's vif, netfront's device): a frame from the host's stack goes
 * to its flow's queue ({@link Flows}) under a read lock, and a disconnect swaps in no queues under the write lock
 * before releasing them, so no frame is ever handed to a queue that is being taken down.
 */
public final class Queues<Q> {
    private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
    private volatile List<Q> queues = List.of();

    /** The queues of a new connection, started by the caller. */
    public void publish(List<Q> qs) {
        queues = List.copyOf(qs);
    }

    /** The queues now (none while disconnected). */
    public List<Q> current() {
        return queues;
    }

    /** Where {@link #offer} hands a frame and its {@link Offload}. */
    @FunctionalInterface
    public interface Sink<Q> {
        void accept(Q queue, MemorySegment frame, int offload);
    }

    /** Hands {@code frame} to its flow's queue; false when there is none (no carrier), the frame not taken. */
    public boolean offer(MemorySegment frame, int offload, Sink<Q> to) {
        gate.readLock().lock();
        try {
            List<Q> qs = queues;
            if (qs.isEmpty()) return false;
            to.accept(qs.get(Flows.queueOf(frame, qs.size())), frame, offload);
            return true;
        } finally {
            gate.readLock().unlock();
        }
    }

    /** Runs {@code each} on every queue now, under the read lock (none is released meanwhile). */
    public void forEach(Consumer<Q> each) {
        gate.readLock().lock();
        try {
            for (Q q : queues) each.accept(q);
        } finally {
            gate.readLock().unlock();
        }
    }

    /** Stops every queue, then (no frame in flight to them any more) forgets and releases them. Idempotent. */
    public void retire(Consumer<Q> stop, Consumer<Q> release) {
        List<Q> qs = queues;
        for (Q q : qs) stop.accept(q);
        gate.writeLock().lock();
        try {
            queues = List.of();
        } finally {
            gate.writeLock().unlock();
        }
        for (Q q : qs) release.accept(q);
    }
}
