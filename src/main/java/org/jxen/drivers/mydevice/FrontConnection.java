package org.jxen.drivers.mydevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jxen.ring.FrontRing;
import org.jxen.ring.RingOverflowException;
import org.jxen.ring.SharedRingLayout;
import org.jxen.xenbus.XenbusDevice;

/**
 * The frontend's half of the connection (chapters 3-4): one granted ring page and an event channel offered to
 * the backend, published in one transaction. Sends its one-character request once the backend is Connected
 * and prints the answer from the event handler. The event thread and the bus worker both use it, hence the
 * lock; after {@link #disconnect} nothing touches the page again.
 */
final class FrontConnection {
    private static final String KEY = "front";

    private final XenbusDevice dev;
    private final MemorySegment response = Arena.ofAuto().allocate(MyDeviceProtocol.ENTRY_SIZE);
    private MemorySegment page;
    private FrontRing ring;
    private int ref = -1;
    private int port = -1;
    private boolean closed;
    private boolean greeted;

    private FrontConnection(XenbusDevice dev) {
        this.dev = dev;
    }

    static FrontConnection of(XenbusDevice dev) {
        return dev.data(KEY);
    }

    /** Ring and channel set up and published; false if that failed (reported on the device, torn down). */
    static boolean connect(XenbusDevice dev) {
        FrontConnection c = new FrontConnection(dev);
        dev.setData(KEY, c);
        try {
            c.setUp();
            return true;
        } catch (Exception e) {
            dev.devFatal(5, "setting up the ring: " + e.getMessage());
            disconnect(dev);
            return false;
        }
    }

    private synchronized void setUp() throws Exception {
        page = dev.xenbus().allocPage();
        ring = new FrontRing(new SharedRingLayout(page, MyDeviceProtocol.ENTRY_SIZE)).init();
        ref = dev.grantRing(page)[0];
        port = dev.allocEvtchn(p -> onEvent());
        int r = ref;
        int p = port;
        // Both keys in one transaction, so the backend never sees a ring without its channel.
        dev.transaction(tx -> {
            dev.printf(tx, MyDeviceProtocol.RING_REF, "%d", r);
            dev.printf(tx, MyDeviceProtocol.EVENT_CHANNEL, "%d", p);
            return null;
        });
    }

    /** The shared page, for tests that play a misbehaving frontend. */
    synchronized MemorySegment ringPage() {
        return page;
    }

    synchronized int port() {
        return port;
    }

    /** The request of chapter 4: one character. */
    /**
     * True the first time it is asked on this connection. otherend_changed reads the backend's state when it runs,
     * not when the watch fired, so two queued events can both find the backend Connected.
     */
    synchronized boolean firstTimeConnected() {
        if (greeted) return false;
        greeted = true;
        return true;
    }

    synchronized void sayHello() {
        if (closed || ring.isFull()) return;
        ring.nextRequest().set(ValueLayout.JAVA_BYTE, 0, MyDeviceProtocol.HELLO_REQUEST);
        try {
            if (ring.pushRequestsAndCheckNotify()) dev.notify(port);
        } catch (Exception e) {
            dev.devError(5, "notifying the backend: " + e.getMessage());
        }
    }

    private synchronized void onEvent() {
        if (closed) return;
        try {
            do {
                while (ring.copyNextResponse(response)) {
                    dev.xenbus().printk("Backend says: " + MyDeviceProtocol.readMessage(response));
                }
            } while (ring.finalCheckForResponses());
        } catch (RingOverflowException e) {
            closed = true;
            dev.runOnBus(() -> dev.devFatal(71, "bogus response producer from the backend: " + e.getMessage()));
        }
    }

    /** Port closed, grant ended (deferred while the backend still maps it), page freed. Idempotent. */
    static void disconnect(XenbusDevice dev) {
        FrontConnection c = of(dev);
        if (c == null) return;
        dev.setData(KEY, null);
        synchronized (c) {
            c.closed = true;
            if (c.port >= 0) dev.freeEvtchn(c.port);
            if (c.ref >= 0) dev.endAccessAndFree(c.ref, c.page);
            else if (c.page != null) dev.xenbus().freePage(c.page);
        }
    }
}
