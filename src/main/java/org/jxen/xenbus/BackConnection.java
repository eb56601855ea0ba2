package org.jxen.xenbus;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.BackRing;
import org.jxen.ring.RingOverflowException;

/**
 * The backend end of a simple device: one queue, one ring, one event channel, every request answered at once.
 * Mapping and binding are {@link BackRings}'; each event runs {@link BackRing#answerAll} under this object's
 * lock (the event thread and the bus worker both touch it). The frontend is untrusted: requests are copied
 * before the responder sees them, and a bogus producer index closes the device (EPROTO) instead of the backend
 * reading past the ring.
 */
public final class BackConnection implements AutoCloseable {
    private final XenbusDevice dev;
    private final BackRing.Responder responder;
    private final MemorySegment request;
    private BackRings rings;
    private BackRing ring;

    private BackConnection(XenbusDevice dev, int entrySize, BackRing.Responder responder) {
        this.dev = dev;
        this.responder = responder;
        this.request = Arena.ofAuto().allocate(entrySize);
    }

    /** Maps the frontend's ring {@code ring} of {@code keys} and answers its requests with {@code responder}. */
    public static BackConnection map(XenbusDevice dev, RingKeys keys, String ring, int entrySize,
            BackRing.Responder responder) throws IOException {
        BackConnection c = new BackConnection(dev, entrySize, responder);
        BackRings r = BackRings.map(dev, keys, 1, 0, (q, channel) -> port -> c.onEvent());
        synchronized (c) {
            c.rings = r;
            c.ring = r.queues().get(0).backRing(ring, entrySize);
        }
        c.onEvent(); // requests may have been pushed before the channel was bound
        return c;
    }

    private synchronized void onEvent() {
        if (ring == null) return;
        try {
            if (ring.answerAll(request, responder)) dev.notify(rings.queues().get(0).port(""));
        } catch (RingOverflowException e) {
            ring = null;
            dev.runOnBus(() -> dev.devFatal(Errno.EPROTO, "frontend overflowed the ring: " + e.getMessage()));
        } catch (HypercallException e) {
            dev.runOnBus(() -> dev.devError(e.errno(), "notifying the frontend"));
        }
    }

    /** Channel unbound and ring unmapped; idempotent. */
    @Override
    public synchronized void close() {
        ring = null;
        if (rings != null) rings.close();
        rings = null;
    }
}
