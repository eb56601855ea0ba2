package org.jxen.drivers.mydevice;

import static org.jxen.drivers.mydevice.MyDeviceProtocol.ENTRY_SIZE;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.ring.BackRing;
import org.jxen.ring.RingOverflowException;
import org.jxen.ring.SharedRingLayout;
import org.jxen.xenbus.BackRings;
import org.jxen.xenbus.BackendDriver;
import org.jxen.xenbus.XenbusDevice;

/**
 * mydeviceback.ko of the xen-split-driver-example (chapters 3-4): connects once the frontend is Connected,
 * maps its ring and answers every request with "Hello world". The state walk is the framework's (netback's).
 * The frontend is untrusted: requests are copied before use, and a bogus producer index closes the device.
 */
public final class MyDeviceBack extends BackendDriver<MyDeviceBack.Connection> implements KernelModule {
    public static final String NAME = "mydeviceback";

    public MyDeviceBack() {
        this(Hotplug.NONE);
    }

    private MyDeviceBack(Hotplug hotplug) {
        super("mydevice", ConnectOn.FRONTEND_CONNECTED, hotplug);
    }

    /** A backend whose Connected waits for {@code hotplug-status = connected}, as netback's does. */
    public static MyDeviceBack withHotplug() {
        return new MyDeviceBack(Hotplug.DEFER_CONNECTED);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        kernel.printk("Hello World!");
        kernel.xenbus().backend().register(this);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().backend().unregister(this);
        kernel.printk("Goodbye world.");
    }

    @Override
    protected Connection create(XenbusDevice dev) {
        dev.xenbus().printk("Probe called. We are good to go.");
        return new Connection(dev);
    }

    @Override
    protected void connect(XenbusDevice dev, Connection c) throws IOException {
        dev.xenbus().printk("Connecting the backend now.");
        c.connect();
    }

    @Override
    protected void disconnect(XenbusDevice dev, Connection c) {
        c.close();
    }

    /** One connection; the event thread and the bus worker both use it, hence the lock. */
    static final class Connection {
        private final XenbusDevice dev;
        private final MemorySegment request = Arena.ofAuto().allocate(ENTRY_SIZE);
        private BackRings rings;
        private BackRing ring;
        private int port;

        private Connection(XenbusDevice dev) {
            this.dev = dev;
        }

        void connect() throws IOException {
            BackRings r = BackRings.map(dev, MyDeviceProtocol.KEYS, 1, 0, (q, channel) -> p -> onEvent());
            synchronized (this) {
                rings = r;
                ring = new BackRing(new SharedRingLayout(r.queues().get(0).pages(MyDeviceProtocol.RING), ENTRY_SIZE));
                port = r.queues().get(0).port("");
            }
            onEvent(); // requests may have been pushed before the channel was bound
        }

        private synchronized void onEvent() {
            if (ring == null) return;
            try {
                do {
                    while (ring.copyNextRequest(request)) {
                        MyDeviceProtocol.writeMessage(ring.nextResponse(), MyDeviceProtocol.HELLO_RESPONSE);
                    }
                    if (ring.pushResponsesAndCheckNotify()) dev.notify(port);
                } while (ring.finalCheckForRequests());
            } catch (RingOverflowException e) {
                ring = null;
                dev.runOnBus(() -> dev.devFatal(Errno.EPROTO, "frontend overflowed the ring: " + e.getMessage()));
            } catch (HypercallException e) {
                dev.runOnBus(() -> dev.devError(e.errno(), "notifying the frontend"));
            }
        }

        synchronized void close() {
            ring = null;
            if (rings != null) rings.close();
            rings = null;
        }
    }
}
