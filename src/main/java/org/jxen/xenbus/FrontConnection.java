package org.jxen.xenbus;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.FrontRing;
import org.jxen.ring.RingOverflowException;

/**
 * The frontend end of a simple device: one queue, one ring, one event channel ({@link FrontRings}). Requests
 * are sent with {@link #send}; each event hands every response, as a private copy, to the driver's consumer,
 * under this object's lock (the event thread and the bus worker both touch it). A bogus producer index from
 * the backend closes the device (EPROTO).
 */
public final class FrontConnection implements AutoCloseable {
    private final XenbusDevice dev;
    private final Consumer<MemorySegment> onResponse;
    private final MemorySegment response;
    private FrontRings rings;
    private FrontRing ring;

    private FrontConnection(XenbusDevice dev, int entrySize, Consumer<MemorySegment> onResponse) {
        this.dev = dev;
        this.onResponse = onResponse;
        this.response = Arena.ofAuto().allocate(entrySize);
    }

    /** Sets up and publishes ring {@code ring} of {@code keys}; responses go to {@code onResponse}. */
    public static FrontConnection setUp(XenbusDevice dev, RingKeys keys, String ring, int entrySize,
            Consumer<MemorySegment> onResponse) throws IOException, HypercallException {
        FrontConnection c = new FrontConnection(dev, entrySize, onResponse);
        FrontRings r = FrontRings.setUp(dev, keys, 1, 0, (q, channel) -> port -> c.onEvent(), null);
        // The backend maps the page once we have switched state, after this returns: initialising it now is in time.
        synchronized (c) {
            c.rings = r;
            c.ring = r.queues().get(0).frontRing(ring, entrySize);
        }
        return c;
    }

    /** Fills the next request slot with {@code request} and pushes it; false if the ring is full or closed. */
    public synchronized boolean send(Consumer<MemorySegment> request) {
        if (ring == null || ring.isFull()) return false;
        request.accept(ring.nextRequest());
        try {
            if (ring.pushRequestsAndCheckNotify()) dev.notify(rings.queues().get(0).port(""));
        } catch (HypercallException e) {
            dev.devError(e.errno(), "notifying the backend: " + e.getMessage());
        }
        return true;
    }

    private synchronized void onEvent() {
        if (ring == null) return;
        try {
            ring.takeAllResponses(response, onResponse);
        } catch (RingOverflowException e) {
            ring = null;
            dev.runOnBus(() -> dev.devFatal(Errno.EPROTO, "bogus response producer from the backend: " + e.getMessage()));
        }
    }

    /** Channel closed, grant ended (deferred while the backend still maps it), page freed; idempotent. */
    @Override
    public synchronized void close() {
        ring = null;
        if (rings != null) rings.close();
        rings = null;
    }
}
