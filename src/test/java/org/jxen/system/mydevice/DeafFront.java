package org.jxen.system.mydevice;

import org.jxen.drivers.mydevice.MyDeviceFront;
import java.util.List;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusDriver;
import org.jxen.xenbus.XenbusState;

/** A mydevice frontend that connects like the real one but never answers the backend's Closing. */
final class DeafFront implements KernelModule {
    private final MyDeviceFront real = new MyDeviceFront();
    private final XenbusDriver driver = new XenbusDriver() {
        @Override
        public List<String> ids() {
            return real.ids();
        }

        @Override
        public void probe(XenbusDevice dev) throws Exception {
            real.probe(dev);
        }

        @Override
        public void otherendChanged(XenbusDevice dev, XenbusState state) {
            if (state == XenbusState.CLOSING || state == XenbusState.CLOSED) return;
            real.otherendChanged(dev, state);
        }

        @Override
        public void remove(XenbusDevice dev) {
            real.remove(dev);
        }
    };

    @Override
    public String name() {
        return "deaffront";
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        kernel.xenbus().frontend().register(driver);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().frontend().unregister(driver);
    }
}
