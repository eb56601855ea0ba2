package org.jxen.drivers.mydevice;

import org.jxen.xenbus.XenbusDevice;

/** The frontend's shared resources (chapters 1-2: none yet). */
final class FrontConnection {
    private FrontConnection() {}

    static boolean connect(XenbusDevice dev) {
        dev.setData("front", new FrontConnection());
        return true;
    }

    static FrontConnection of(XenbusDevice dev) {
        return dev.data("front");
    }

    void sayHello() {}

    static void disconnect(XenbusDevice dev) {
        dev.setData("front", null);
    }
}
