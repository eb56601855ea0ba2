package org.jxen.drivers.mydevice;

import java.util.concurrent.atomic.AtomicReference;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;
import org.jxen.xenbus.BackConnection;
import org.jxen.xenbus.BackendDriver;
import org.jxen.xenbus.XenbusDevice;

/**
 * mydeviceback.ko of the xen-split-driver-example (chapters 3-4): connects once the frontend is Connected and
 * answers every request on its ring with "Hello world". The state walk is the framework's (netback's). Built into
 * dom0's kernel, so a mydevice written to the store is served at once.
 */
public final class MyDeviceBack extends BackendDriver<AtomicReference<BackConnection>> implements KernelModule {
    public static final String NAME = "mydeviceback";

    public MyDeviceBack() {
        this(Hotplug.NONE);
    }

    /** With {@code Hotplug.DEFER_CONNECTED}, Connected waits for {@code hotplug-status = connected}, as netback's does. */
    public MyDeviceBack(Hotplug hotplug) {
        super("mydevice", ConnectOn.FRONTEND_CONNECTED, hotplug);
    }

    @Override
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.DOM0;
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
    protected AtomicReference<BackConnection> create(XenbusDevice dev) {
        dev.xenbus().printk("Probe called. We are good to go.");
        return new AtomicReference<>();
    }

    @Override
    protected void connect(XenbusDevice dev, AtomicReference<BackConnection> c) throws Exception {
        dev.xenbus().printk("Connecting the backend now.");
        c.set(BackConnection.map(dev, MyDeviceProtocol.KEYS, MyDeviceProtocol.RING, MyDeviceProtocol.ENTRY_SIZE,
                (request, response) -> MyDeviceProtocol.writeMessage(response, MyDeviceProtocol.HELLO_RESPONSE)));
    }

    @Override
    protected void disconnect(XenbusDevice dev, AtomicReference<BackConnection> c) {
        java.util.Optional.ofNullable(c.getAndSet(null)).ifPresent(BackConnection::close);
    }
}
