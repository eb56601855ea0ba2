package org.jxen.drivers;

import org.jxen.xenbus.Kernel;
import org.jxen.xenbus.StandardKernel;

/** The guest kernel xl boots: the standard kernel plus the driver modules named in its arguments (xl.cfg's drivers). */
public final class ModularKernel extends StandardKernel {
    @Override
    protected void run(Kernel kernel, String[] modules) throws Exception {
        for (String name : modules) kernel.load(DriverModules.create(name));
    }
}
