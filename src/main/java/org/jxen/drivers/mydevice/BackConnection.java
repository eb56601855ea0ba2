package org.jxen.drivers.mydevice;

import org.jxen.xenbus.BackendStates;
import org.jxen.xenbus.XenbusDevice;

/** The backend's connection to the frontend (chapters 1-2: the handshake only). */
final class BackConnection {
    private BackConnection() {}

    static final class Hooks implements BackendStates.Hooks {
        @Override
        public boolean connect(XenbusDevice dev) {
            dev.kernel().printk("Connecting the backend now.");
            return true;
        }

        @Override
        public void disconnect(XenbusDevice dev) {
            BackConnection.disconnect(dev);
        }
    }

    static void disconnect(XenbusDevice dev) {}
}
