package org.jxen.drivers.mydevice;

import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
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
        kernel.xenbus().frontend().register(driver);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().frontend().unregister(driver);
        kernel.printk("Goodbye world.");
    }
}
