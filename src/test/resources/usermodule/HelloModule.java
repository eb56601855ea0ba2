package org.example.hello;

import java.util.List;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.UnknownParameterException;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusDriver;
import org.jxen.xenbus.XenbusState;

/**
 * A user's own module, built outside jxen into a jar of its own: a frontend driver for device class "hello"
 * that says hello, reports each device it is probed for, and takes one parameter, greeting.
 */
public final class HelloModule implements KernelModule {
    private String greeting = "Hello";

    private final XenbusDriver driver = new XenbusDriver() {
        @Override
        public List<String> ids() {
            return List.of("hello");
        }

        @Override
        public void probe(XenbusDevice dev) {
            dev.xenbus().printk("hellomod: probe " + dev.nodename());
        }

        @Override
        public void otherendChanged(XenbusDevice dev, XenbusState state) {
        }
    };

    @Override
    public String name() {
        return "hellomod";
    }

    @Override
    public void parameter(String key, String value) {
        if (!key.equals("greeting")) throw new UnknownParameterException(key);
        if (value == null || value.isEmpty()) throw new IllegalArgumentException("greeting needs a value");
        greeting = value;
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        kernel.printk("hellomod: " + greeting + " from domain " + kernel.domid());
        kernel.xenbus().frontend().register(driver);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().frontend().unregister(driver);
        kernel.printk("hellomod: goodbye from domain " + kernel.domid());
    }
}
