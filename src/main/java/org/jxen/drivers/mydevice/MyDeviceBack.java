package org.jxen.drivers.mydevice;

import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;
import org.jxen.xenbus.Xenbus;

/**
 * mydeviceback.ko of the xen-split-driver-example: registers the backend driver for "mydevice". Built into
 * dom0's kernel, so a mydevice written to the store is served at once; {@link #withHotplug()} makes a variant
 * that waits for a hotplug script.
 */
public final class MyDeviceBack implements KernelModule {
    public static final String NAME = "mydeviceback";

    private final MyDeviceBackDriver driver;

    public MyDeviceBack() {
        this(false);
    }

    private MyDeviceBack(boolean hotplug) {
        this.driver = new MyDeviceBackDriver(hotplug);
    }

    /** A backend whose Connected waits for {@code hotplug-status = connected}, as netback does. */
    public static MyDeviceBack withHotplug() {
        return new MyDeviceBack(true);
    }

    @Override
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.DOM0;
    }

    @Override
    public String name() {
        return NAME;
    }

    public MyDeviceBackDriver driver() {
        return driver;
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        kernel.printk("Hello World!");
        kernel.xenbus().backend().register(driver);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().backend().unregister(driver);
        kernel.printk("Goodbye world.");
    }
}
