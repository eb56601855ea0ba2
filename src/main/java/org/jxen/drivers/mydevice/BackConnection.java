package org.jxen.drivers.mydevice;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.BackRing;
import org.jxen.ring.RingOverflowException;
import org.jxen.ring.SharedRingLayout;
import org.jxen.xenbus.BackendStates;
import org.jxen.xenbus.XenbusDevice;

/**
 * The backend's half (chapters 3-4): maps the frontend's ring, binds its event channel and answers every
 * request with "Hello world". The frontend is untrusted: requests are copied before use, and a bogus
 * producer index closes the device instead of the backend reading past the ring.
 */
final class BackConnection {
    private static final String KEY = "back";

    private final XenbusDevice dev;
    private final MemorySegment request = Arena.ofAuto().allocate(MyDeviceProtocol.ENTRY_SIZE);
    private List<GrantMapping> mapping = List.of();
    private BackRing ring;
    private int port = -1;
    private boolean closed;

    private BackConnection(XenbusDevice dev) {
        this.dev = dev;
    }

    /** What BackendStates calls on the way to Connected and away from it. */
    static final class Hooks implements BackendStates.Hooks {
        @Override
        public boolean connect(XenbusDevice dev) {
            dev.xenbus().printk("Connecting the backend now.");
            BackConnection c = new BackConnection(dev);
            dev.setData(KEY, c);
            return c.setUp();
        }

        @Override
        public void disconnect(XenbusDevice dev) {
            BackConnection.disconnect(dev);
        }
    }

    private synchronized boolean setUp() {
        int ref;
        int remotePort;
        try {
            Map<String, String> m = dev.gather(dev.otherendPath(), MyDeviceProtocol.RING_REF,
                    MyDeviceProtocol.EVENT_CHANNEL);
            ref = Integer.parseInt(m.get(MyDeviceProtocol.RING_REF).strip());
            remotePort = Integer.parseInt(m.get(MyDeviceProtocol.EVENT_CHANNEL).strip());
        } catch (IOException | NumberFormatException e) {
            dev.devFatal(22, "reading " + dev.otherendPath() + "/" + MyDeviceProtocol.RING_REF + " and "
                    + MyDeviceProtocol.EVENT_CHANNEL);
            disconnect(dev);
            return false;
        }
        try {
            mapping = dev.mapRing(ref);
            ring = new BackRing(new SharedRingLayout(mapping.get(0).page(), MyDeviceProtocol.ENTRY_SIZE));
            port = dev.bindEvtchn(remotePort, p -> onEvent());
        } catch (GrantException e) {
            disconnect(dev); // mapRing reported it
            return false;
        } catch (HypercallException e) {
            dev.devFatal(e.errno().code, "binding event channel " + remotePort + " of domain " + dev.otherendId());
            disconnect(dev);
            return false;
        }
        // Requests may have been pushed before we bound the channel.
        onEvent();
        return true;
    }

    private synchronized void onEvent() {
        if (closed || ring == null) return;
        try {
            do {
                while (ring.copyNextRequest(request)) {
                    MyDeviceProtocol.writeMessage(ring.nextResponse(), MyDeviceProtocol.HELLO_RESPONSE);
                }
                if (ring.pushResponsesAndCheckNotify()) dev.notify(port);
            } while (ring.finalCheckForRequests());
        } catch (RingOverflowException e) {
            closed = true;
            dev.runOnBus(() -> dev.devFatal(71, "frontend overflowed the ring: " + e.getMessage()));
        } catch (HypercallException e) {
            dev.runOnBus(() -> dev.devError(e.errno().code, "notifying the frontend"));
        }
    }

    /** Port closed and ring unmapped; idempotent. */
    static void disconnect(XenbusDevice dev) {
        BackConnection c = dev.data(KEY);
        if (c == null) return;
        dev.setData(KEY, null);
        synchronized (c) {
            c.closed = true;
            if (c.port >= 0) dev.freeEvtchn(c.port);
            dev.unmapRing(c.mapping);
            c.mapping = List.of();
        }
    }
}
