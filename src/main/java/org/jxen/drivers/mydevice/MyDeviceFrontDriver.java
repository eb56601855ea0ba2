package org.jxen.drivers.mydevice;

import java.util.List;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusDriver;
import org.jxen.xenbus.XenbusState;

/**
 * The frontend's state machine, netfront's as the seed trims it: connect when the backend waits for us
 * (InitWait), go Connected, and close when the backend closes.
 */
public final class MyDeviceFrontDriver implements XenbusDriver {
    /** What the frontend prints when the backend's answer arrives. */
    public static String helloLine() {
        return "Backend says: Hello world";
    }

    @Override
    public List<String> ids() {
        return List.of("mydevice");
    }

    @Override
    public void probe(XenbusDevice dev) {
        dev.xenbus().printk("Probe called. We are good to go.");
    }

    @Override
    public void otherendChanged(XenbusDevice dev, XenbusState backendState) {
        switch (backendState) {
            case INIT_WAIT -> {
                if (dev.state() != XenbusState.INITIALISING) return;
                dev.xenbus().printk("Connecting the frontend now.");
                if (!FrontConnection.connect(dev)) return;
                dev.switchState(XenbusState.CONNECTED);
            }
            case CONNECTED -> {
                if (dev.state() != XenbusState.CONNECTED || !FrontConnection.of(dev).firstTimeConnected()) return;
                dev.xenbus().printk("Other side says it is connected as well.");
                FrontConnection.of(dev).sayHello();
            }
            case CLOSED, CLOSING -> {
                // A backend still Closed while we (re)start has not seen our Initialising yet: netback answers
                // it with InitWait ("prepare for reconnect"), so wait for that rather than close again.
                if (backendState == XenbusState.CLOSED && dev.state() == XenbusState.INITIALISING) return;
                // xenbus_frontend_closed: flush (nothing in flight survives), tear down, answer Closed.
                if (dev.state() == XenbusState.CLOSED) return;
                FrontConnection.disconnect(dev);
                dev.switchState(XenbusState.CLOSED);
            }
            default -> {
                // Initialising, Initialised, Unknown, Reconfiguring/ed: nothing to do (netfront).
            }
        }
    }

    @Override
    public void remove(XenbusDevice dev) {
        FrontConnection.disconnect(dev);
    }
}
