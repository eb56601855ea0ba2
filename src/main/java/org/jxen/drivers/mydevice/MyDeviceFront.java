package org.jxen.drivers.mydevice;

import org.jxen.xenbus.Kernel;
import org.jxen.xenbus.KernelModule;
import org.jxen.xenbus.Xenbus;

/** mydevicefront.ko of the xen-split-driver-example: registers the frontend driver for "mydevice". */
public final class MyDeviceFront implements KernelModule {
    public static final String NAME = "mydevicefront";

    private final MyDeviceFrontDriver driver = new MyDeviceFrontDriver();

    @Override
    public String name() {
        return NAME;
    }

    public MyDeviceFrontDriver driver() {
        return driver;
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        kernel.printk("Hello World!");
        Xenbus.frontend(kernel).register(driver);
    }

    @Override
    public void exit(Kernel kernel) {
        Xenbus.frontend(kernel).unregister(driver);
        kernel.printk("Goodbye world.");
    }
}
