package org.jxen.drivers.mydevice;

import static org.jxen.drivers.mydevice.MyDeviceProtocol.ENTRY_SIZE;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.ring.FrontRing;
import org.jxen.ring.RingOverflowException;
import org.jxen.ring.SharedRingLayout;
import org.jxen.xenbus.FrontRings;
import org.jxen.xenbus.FrontendDriver;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusState;

/**
 * mydevicefront.ko of the xen-split-driver-example (chapters 3-4): on the backend's InitWait it publishes a
 * ring and goes Connected (netfront's walk, the framework's); once the backend is Connected too it sends its
 * one-character request and prints the answer from the event handler.
 */
public final class MyDeviceFront extends FrontendDriver<MyDeviceFront.Connection> implements KernelModule {
    public static final String NAME = "mydevicefront";
    /** What the frontend prints when the backend's answer arrives. */
    public static final String HELLO_LINE = "Backend says: " + MyDeviceProtocol.HELLO_RESPONSE;

    public MyDeviceFront() {
        super("mydevice", XenbusState.CONNECTED);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        kernel.printk("Hello World!");
        kernel.xenbus().frontend().register(this);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().frontend().unregister(this);
        kernel.printk("Goodbye world.");
    }

    @Override
    protected Connection create(XenbusDevice dev) {
        dev.xenbus().printk("Probe called. We are good to go.");
        return new Connection(dev);
    }

    @Override
    protected void connect(XenbusDevice dev, Connection c) throws IOException, HypercallException {
        dev.xenbus().printk("Connecting the frontend now.");
        c.connect();
    }

    @Override
    protected void connected(XenbusDevice dev, Connection c) {
        dev.xenbus().printk("Other side says it is connected as well.");
        c.sayHello();
    }

    @Override
    protected void disconnect(XenbusDevice dev, Connection c) {
        c.close();
    }

    /** One connection; the event thread and the bus worker both use it, hence the lock. */
    static final class Connection {
        private final XenbusDevice dev;
        private final MemorySegment response = Arena.ofAuto().allocate(ENTRY_SIZE);
        private FrontRings rings;
        private FrontRing ring;
        private int port;

        private Connection(XenbusDevice dev) {
            this.dev = dev;
        }

        void connect() throws IOException, HypercallException {
            FrontRings r = FrontRings.setUp(dev, MyDeviceProtocol.KEYS, 1, 0, (q, channel) -> p -> onEvent(), null);
            // The backend maps the page only after our Connected, so initialising it now is in time.
            synchronized (this) {
                rings = r;
                ring = new FrontRing(new SharedRingLayout(r.queues().get(0).pages(MyDeviceProtocol.RING), ENTRY_SIZE)).init();
                port = r.queues().get(0).port("");
            }
        }

        /** The request of chapter 4: one character. */
        synchronized void sayHello() {
            if (ring == null || ring.isFull()) return;
            ring.nextRequest().set(ValueLayout.JAVA_BYTE, 0, MyDeviceProtocol.HELLO_REQUEST);
            try {
                if (ring.pushRequestsAndCheckNotify()) dev.notify(port);
            } catch (HypercallException e) {
                dev.devError(e.errno(), "notifying the backend: " + e.getMessage());
            }
        }

        private synchronized void onEvent() {
            if (ring == null) return;
            try {
                do {
                    while (ring.copyNextResponse(response)) {
                        dev.xenbus().printk("Backend says: " + MyDeviceProtocol.readMessage(response));
                    }
                } while (ring.finalCheckForResponses());
            } catch (RingOverflowException e) {
                ring = null;
                dev.runOnBus(() -> dev.devFatal(Errno.EPROTO, "bogus response producer from the backend: " + e.getMessage()));
            }
        }

        synchronized void close() {
            ring = null;
            if (rings != null) rings.close();
            rings = null;
        }
    }
}
