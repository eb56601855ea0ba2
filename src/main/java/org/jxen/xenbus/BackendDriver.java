package org.jxen.xenbus;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.hypervisor.Errno;

/**
 * A backend driver whose xenbus side is the framework's: netback's and blkback's frontend_changed and
 * set_backend_state (through {@link BackendStates}). Probe goes InitWait; the device connects when the frontend
 * reaches the state the driver asked for (and, if it asked, the hotplug script reported); the frontend's
 * Closing and Closed close it; Closed with {@code online = 1} waits for the frontend to start again (InitWait,
 * "prepare for reconnect"), with {@code online = 0} or a vanished frontend the device is unregistered. A
 * driver supplies only its per-device object {@code D} and what connecting and disconnecting mean.
 *
 * <p>Every callback runs on the bus worker, one at a time per device.
 */
public abstract class BackendDriver<D> implements XenbusDriver {
    /** When the frontend is ready for us. */
    public enum ConnectOn {
        /** netback's choice: the frontend is Connected. */
        FRONTEND_CONNECTED,
        /** blkback's: the frontend is Initialised (its rings are published) or already Connected. */
        FRONTEND_INITIALISED
    }

    /** What the hotplug script has to do with connecting. */
    public enum Hotplug {
        /** No script, or one the backend does not wait for. */
        NONE,
        /** blkback: connecting needs what the script wrote ({@code hotplug-status = connected} first). */
        BEFORE_CONNECT,
        /** netback: connect, but write Connected only once the script reported. */
        DEFER_CONNECTED
    }

    private final class Bound implements BackendStates.Hooks {
        final D data;
        BackendStates states;

        Bound(D data) {
            this.data = data;
        }

        @Override
        public boolean connect(XenbusDevice dev) {
            try {
                BackendDriver.this.connect(dev, data);
                return true;
            } catch (Exception e) {
                dev.devFatal(XenbusDevice.errnoOf(e), e.getMessage());
                BackendDriver.this.disconnect(dev, data);
                return false;
            }
        }

        @Override
        public void disconnect(XenbusDevice dev) {
            BackendDriver.this.disconnect(dev, data);
        }
    }

    private final List<String> ids;
    private final ConnectOn connectOn;
    private final Hotplug hotplug;
    private final Map<XenbusDevice, Bound> devices = new ConcurrentHashMap<>();

    protected BackendDriver(String devicetype, ConnectOn connectOn, Hotplug hotplug) {
        this.ids = List.of(devicetype);
        this.connectOn = connectOn;
        this.hotplug = hotplug;
    }

    /** probe: the per-device object; it may write the backend's features (before InitWait, as blkback does). */
    protected abstract D create(XenbusDevice dev) throws Exception;

    /** Connect to the frontend (map its rings, bind its channels, publish details); throwing fails the device. */
    protected abstract void connect(XenbusDevice dev, D data) throws Exception;

    /** Take the connection down; called also after a failed connect, so it must be idempotent. */
    protected abstract void disconnect(XenbusDevice dev, D data);

    /** The device is going away for good, after its last disconnect (release what create acquired). */
    protected void removed(XenbusDevice dev, D data) {}

    /**
     * Whether this backend takes part in reconfiguration (the frontend in Reconfiguring). Without it a frontend
     * in Reconfiguring is an error on the device ("saw state 7 at frontend"), as with a backend that predates it.
     */
    protected boolean reconfigurable() {
        return false;
    }

    /**
     * The frontend asked for a reconfiguration (it is Reconfiguring): apply what changed in the store while the
     * connection stays up, as pciback's xen_pcibk_reconfigure (after the toolstack set us Reconfiguring) and
     * netback's XDP headroom change (while Connected) do. Returning switches us to Reconfigured; the frontend then
     * completes and goes Connected, and so do we. Throwing fails the device.
     */
    protected void reconfigure(XenbusDevice dev, D data) throws Exception {}

    /** The driver's object for {@code dev} (Linux's dev_get_drvdata), or null if it is not ours or gone. */
    public final D data(XenbusDevice dev) {
        Bound b = devices.get(dev);
        return b == null ? null : b.data;
    }

    @Override
    public final List<String> ids() {
        return ids;
    }

    @Override
    public final boolean waitsForHotplug() {
        return hotplug == Hotplug.DEFER_CONNECTED;
    }

    @Override
    public final void probe(XenbusDevice dev) throws Exception {
        Bound b = new Bound(create(dev));
        devices.put(dev, b);
        try {
            b.states = new BackendStates(dev, b);
            b.states.set(XenbusState.INIT_WAIT);
            // The script runs once libxl saw InitWait; its last write is hotplug-status.
            if (hotplug == Hotplug.BEFORE_CONNECT) {
                dev.watchPath(dev.nodename() + "/hotplug-status", p -> maybeConnect(dev, b, dev.readOtherendState()));
            }
        } catch (IOException | RuntimeException e) {
            devices.remove(dev);
            removed(dev, b.data);
            throw e;
        }
    }

    @Override
    public final void otherendChanged(XenbusDevice dev, XenbusState frontend) {
        Bound b = devices.get(dev);
        if (b == null) return;
        switch (frontend) {
            case INITIALISING -> {
                if (dev.state() == XenbusState.CLOSED) {
                    dev.xenbus().printk(dev.nodename() + ": prepare for reconnect");
                    b.states.set(XenbusState.INIT_WAIT);
                }
            }
            case INITIALISED -> {
                if (connectOn == ConnectOn.FRONTEND_INITIALISED) maybeConnect(dev, b, frontend);
            }
            case CONNECTED -> {
                XenbusState ours = b.states.state();
                // The frontend completed a reconfiguration: back to Connected, the connection was never down.
                if (ours == XenbusState.RECONFIGURED || ours == XenbusState.RECONFIGURING) {
                    b.states.set(XenbusState.CONNECTED);
                } else {
                    maybeConnect(dev, b, frontend);
                }
            }
            case RECONFIGURING -> reconfigure(dev, b);
            // Only a backend says Reconfigured: a frontend that does is confused (netback's default).
            case RECONFIGURED -> dev.devFatal(Errno.EINVAL, "saw state " + frontend.value + " at frontend");
            case CLOSING -> b.states.set(XenbusState.CLOSING);
            case CLOSED -> {
                b.states.set(XenbusState.CLOSED);
                if (!dev.isOnline()) dev.unregister();
            }
            case UNKNOWN -> {
                // The frontend's directory is gone (its domain died or the toolstack removed it).
                b.states.set(XenbusState.CLOSED);
                dev.unregister();
            }
            default -> dev.devFatal(Errno.EINVAL, "saw state " + frontend.value + " at frontend");
        }
    }

    /**
     * The frontend is Reconfiguring. We act when the connection is up: Connected (a frontend-initiated change,
     * netback's XDP) or Reconfiguring as the toolstack set us (pciback: libxl wrote our state 7 with the new
     * device keys, the frontend answered Reconfiguring). Anything else is a frontend ahead of the handshake.
     */
    private void reconfigure(XenbusDevice dev, Bound b) {
        if (!reconfigurable()) {
            dev.devFatal(Errno.EINVAL, "saw state " + XenbusState.RECONFIGURING.value + " at frontend");
            return;
        }
        XenbusState ours = dev.state() == XenbusState.RECONFIGURING ? XenbusState.RECONFIGURING : b.states.state();
        if (ours != XenbusState.CONNECTED && ours != XenbusState.RECONFIGURING) return;
        try {
            reconfigure(dev, b.data);
        } catch (Exception e) {
            dev.devFatal(XenbusDevice.errnoOf(e), "reconfiguring: " + e.getMessage());
            return;
        }
        b.states.set(XenbusState.RECONFIGURED);
    }

    /**
     * Connected once the frontend is ready ({@code fe}: its state as the bus just read it, or as re-read after
     * the script's event) and the script (if we wait for it) reported. A backend that connects
     * on the frontend's Connected walks there from any state, as netback does; one that connects on Initialised
     * does so only from InitWait, so a frontend that is still Initialised after a close first starts again.
     */
    private void maybeConnect(XenbusDevice dev, Bound b, XenbusState fe) {
        XenbusState ours = b.states.state();
        if (ours == XenbusState.CONNECTED) return;
        if (connectOn == ConnectOn.FRONTEND_INITIALISED && ours != XenbusState.INIT_WAIT) return;
        boolean ready = fe == XenbusState.CONNECTED
                || fe == XenbusState.INITIALISED && connectOn == ConnectOn.FRONTEND_INITIALISED;
        if (!ready) return;
        if (hotplug == Hotplug.BEFORE_CONNECT) {
            try {
                if (!"connected".equals(dev.readOrNull("hotplug-status"))) return;
            } catch (IOException e) {
                return;
            }
        }
        b.states.set(XenbusState.CONNECTED);
    }

    @Override
    public final void remove(XenbusDevice dev) {
        Bound b = devices.remove(dev);
        if (b == null) return;
        if (b.states != null && b.states.state() != XenbusState.CLOSED) {
            try {
                b.states.set(XenbusState.CLOSED);
            } catch (RuntimeException e) {
                dev.xenbus().printk(dev.nodename() + ": closing on remove: " + e.getMessage());
            }
        }
        disconnect(dev, b.data);
        removed(dev, b.data);
    }
}
