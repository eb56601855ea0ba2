package org.jxen.drivers.mydevice;

import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.xenbus.FrontConnection;
import org.jxen.xenbus.FrontendDriver;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusState;

/**
 * mydevicefront.ko of the xen-split-driver-example (chapters 3-4): on the backend's InitWait it publishes a
 * ring and goes Connected (netfront's walk, the framework's); once the backend is Connected too it sends its
 * one-character request, and prints the answer when it comes.
 */
public final class MyDeviceFront extends FrontendDriver<AtomicReference<FrontConnection>> implements KernelModule {
    public static final String NAME = "mydevicefront";

    public MyDeviceFront() {
        super("mydevice", XenbusState.CONNECTED);
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
    protected AtomicReference<FrontConnection> create(XenbusDevice dev) {
        dev.xenbus().printk("Probe called. We are good to go.");
        return new AtomicReference<>();
    }

    @Override
    protected void connect(XenbusDevice dev, AtomicReference<FrontConnection> c) throws Exception {
        dev.xenbus().printk("Connecting the frontend now.");
        c.set(FrontConnection.setUp(dev, MyDeviceProtocol.KEYS, MyDeviceProtocol.RING, MyDeviceProtocol.ENTRY_SIZE,
                response -> dev.xenbus().printk("Backend says: " + MyDeviceProtocol.readMessage(response))));
    }

    @Override
    protected void connected(XenbusDevice dev, AtomicReference<FrontConnection> c) {
        dev.xenbus().printk("Other side says it is connected as well.");
        hello(c.get());
    }

    /** Sends the hello request again on every connected device; how many took it (a backend answers each). */
    public int greet() {
        return (int) connectedData().stream().filter(c -> hello(c.get())).count();
    }

    private static boolean hello(FrontConnection c) {
        return c != null && c.send(request -> request.set(ValueLayout.JAVA_BYTE, 0, MyDeviceProtocol.HELLO_REQUEST));
    }

    @Override
    protected void disconnect(XenbusDevice dev, AtomicReference<FrontConnection> c) {
        java.util.Optional.ofNullable(c.getAndSet(null)).ifPresent(FrontConnection::close);
    }
}
