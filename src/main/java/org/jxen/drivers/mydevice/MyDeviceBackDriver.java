package org.jxen.drivers.mydevice;

import java.io.IOException;
import java.util.List;
import org.jxen.xenbus.BackendStates;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusDriver;
import org.jxen.xenbus.XenbusState;

/**
 * The backend's state machine, netback's frontend_changed and set_backend_state as the seed keeps them:
 * InitWait at probe, Connected once the frontend is, Closing/Closed after it, and on the frontend's Closed
 * either wait for a reconnect ({@code online = 1}) or unregister ({@code online = 0}).
 */
public final class MyDeviceBackDriver implements XenbusDriver {
    private static final String STATES = "states";
    private final boolean hotplug;

    MyDeviceBackDriver(boolean hotplug) {
        this.hotplug = hotplug;
    }

    @Override
    public List<String> ids() {
        return List.of("mydevice");
    }

    @Override
    public boolean waitsForHotplug() {
        return hotplug;
    }

    @Override
    public void probe(XenbusDevice dev) throws IOException {
        dev.xenbus().printk("Probe called. We are good to go.");
        BackendStates states = new BackendStates(dev, new BackConnection.Hooks());
        dev.setData(STATES, states);
        states.set(XenbusState.INIT_WAIT);
    }

    private static BackendStates states(XenbusDevice dev) {
        return dev.data(STATES);
    }

    @Override
    public void otherendChanged(XenbusDevice dev, XenbusState frontendState) {
        BackendStates states = states(dev);
        switch (frontendState) {
            case INITIALISING -> {
                if (dev.state() == XenbusState.CLOSED) {
                    dev.xenbus().printk(dev.nodename() + ": prepare for reconnect");
                    states.set(XenbusState.INIT_WAIT);
                }
            }
            case INITIALISED -> {
                // netback waits for the frontend's Connected.
            }
            case CONNECTED -> {
                if (states.state() != XenbusState.CONNECTED) states.set(XenbusState.CONNECTED);
            }
            case CLOSING -> states.set(XenbusState.CLOSING);
            case CLOSED -> {
                states.set(XenbusState.CLOSED);
                if (!dev.isOnline()) dev.unregister();
            }
            case UNKNOWN -> {
                // The frontend's directory is gone (its domain died or the toolstack removed it).
                states.set(XenbusState.CLOSED);
                dev.unregister();
            }
            default -> dev.devFatal(22, "saw state " + frontendState.value + " at frontend");
        }
    }

    @Override
    public void remove(XenbusDevice dev) {
        BackendStates states = states(dev);
        if (states != null && states.state() != XenbusState.CLOSED) {
            try {
                states.set(XenbusState.CLOSED);
            } catch (RuntimeException e) {
                dev.xenbus().printk(dev.nodename() + ": closing on remove: " + e.getMessage());
            }
        }
        BackConnection.disconnect(dev);
    }
}
