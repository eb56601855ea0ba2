package org.jxen.xenbus;

import java.io.IOException;

/**
 * netback's {@code set_backend_state}: a backend asks for a target state and is walked along the shortest
 * legal path over Initialising -> InitWait -> Connected -> Closing <-> Closed (Closed -> InitWait for a
 * reconnect), connecting and disconnecting on the way; Connected -> Reconfigured -> Connected keeps the
 * connection (pciback's and netback's reconfiguration), as does Reconfiguring (set by the toolstack) -> Reconfigured. A target with no path throws
 * {@link IllegalXenbusTransition} (netback's BUG()), which the bus reports on the device.
 *
 * <p>For a driver that {@link XenbusDriver#waitsForHotplug() waits for hotplug}, the write of Connected is
 * deferred until the hotplug script reported {@code hotplug-status = connected} (netback's
 * backend_switch_state); InitWait is never deferred because libxl runs the script only after seeing it.
 * Use from driver callbacks only (the bus worker), like netback's, which runs under the xenwatch thread.
 */
public final class BackendStates {
    /** The driver's side of the walk. */
    public interface Hooks {
        /** Set up the connection to the frontend; false if it failed (the device was reported and is closing). */
        boolean connect(XenbusDevice dev);

        /** Tear the connection down; must be idempotent. */
        void disconnect(XenbusDevice dev);
    }

    private final XenbusDevice dev;
    private final Hooks hooks;
    /** be->state: where the walk is, which may be ahead of the store while Connected is deferred. */
    private XenbusState state;

    public BackendStates(XenbusDevice dev, Hooks hooks) throws IOException {
        this.dev = dev;
        this.hooks = hooks;
        this.state = dev.state();
        if (dev.driver().waitsForHotplug()) dev.watchPath(dev.nodename() + "/hotplug-status", p -> hotplugChanged());
    }

    public XenbusState state() {
        return state;
    }

    public void set(XenbusState target) {
        while (state != target) {
            XenbusState before = state;
            switch (state) {
                case INITIALISING -> {
                    switch (target) {
                        case INIT_WAIT, CONNECTED, CLOSING -> switchTo(XenbusState.INIT_WAIT);
                        case CLOSED -> switchTo(XenbusState.CLOSED);
                        default -> throw new IllegalXenbusTransition(state, target);
                    }
                }
                case CLOSED -> {
                    switch (target) {
                        case INIT_WAIT, CONNECTED -> switchTo(XenbusState.INIT_WAIT);
                        case CLOSING -> switchTo(XenbusState.CLOSING);
                        default -> throw new IllegalXenbusTransition(state, target);
                    }
                }
                case INIT_WAIT -> {
                    switch (target) {
                        case CONNECTED -> {
                            if (!hooks.connect(dev)) return;
                            switchTo(XenbusState.CONNECTED);
                        }
                        case CLOSING, CLOSED -> switchTo(XenbusState.CLOSING);
                        default -> throw new IllegalXenbusTransition(state, target);
                    }
                }
                case CONNECTED -> {
                    switch (target) {
                        case INIT_WAIT, CLOSING, CLOSED -> {
                            hooks.disconnect(dev);
                            switchTo(XenbusState.CLOSING);
                        }
                        // A reconfiguration keeps the connection: the rings stay mapped throughout.
                        case RECONFIGURED -> switchTo(XenbusState.RECONFIGURED);
                        default -> throw new IllegalXenbusTransition(state, target);
                    }
                }
                case RECONFIGURING, RECONFIGURED -> {
                    switch (target) {
                        case CONNECTED -> switchTo(XenbusState.CONNECTED);
                        case RECONFIGURED -> switchTo(XenbusState.RECONFIGURED);
                        case INIT_WAIT, CLOSING, CLOSED -> {
                            hooks.disconnect(dev);
                            switchTo(XenbusState.CLOSING);
                        }
                        default -> throw new IllegalXenbusTransition(state, target);
                    }
                }
                case CLOSING -> {
                    switch (target) {
                        case INIT_WAIT, CONNECTED, CLOSED -> switchTo(XenbusState.CLOSED);
                        default -> throw new IllegalXenbusTransition(state, target);
                    }
                }
                default -> throw new IllegalXenbusTransition(state, target);
            }
            if (state == before) return;
        }
    }

    /** backend_switch_state. */
    private void switchTo(XenbusState next) {
        state = next;
        if (next == XenbusState.CONNECTED && dev.driver().waitsForHotplug() && !hotplugConnected()) {
            dev.xenbus().printk("xenbus " + dev.nodename() + ": Connected deferred until the hotplug script reports");
            return;
        }
        dev.switchState(next);
    }

    private boolean hotplugConnected() {
        try {
            return "connected".equals(dev.readOrNull("hotplug-status"));
        } catch (IOException e) {
            return false;
        }
    }

    /** hotplug_status_changed: the deferred write happens now. */
    private void hotplugChanged() {
        if (state == XenbusState.CONNECTED && dev.state() != XenbusState.CONNECTED && hotplugConnected()) {
            dev.switchState(XenbusState.CONNECTED);
        }
    }
}
