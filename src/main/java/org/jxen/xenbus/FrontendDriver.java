package org.jxen.xenbus;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A frontend driver whose xenbus side is the framework's, netfront's and blkfront's backend_changed: on the
 * backend's InitWait set up and publish the rings, then go Connected (netfront) or Initialised (blkfront, which
 * waits for the backend's details); once both ends are Connected the driver hears it once per connection; on the
 * backend's Closing or Closed tear down and answer Closed ({@link XenbusDevice#frontendClosed}); a
 * reconfiguration (pcifront's, netfront's XDP) goes Connected -> Reconfiguring -> Connected with the connection up.
 * A driver supplies only its per-device object {@code D} and what connecting and disconnecting mean.
 *
 * <p>Every callback runs on the bus worker, one at a time per device.
 */
public abstract class FrontendDriver<D> implements XenbusDriver {
    private final class Bound {
        final D data;
        /** Whether {@link #connected} ran for the current connection (events coalesce and repeat). */
        volatile boolean announced;

        Bound(D data) {
            this.data = data;
        }
    }

    private final List<String> ids;
    private final XenbusState afterSetUp;
    private final Map<XenbusDevice, Bound> devices = new ConcurrentHashMap<>();

    /**
     * @param afterSetUp the state published with the rings: Connected (netfront) or Initialised (blkfront)
     */
    protected FrontendDriver(String devicetype, XenbusState afterSetUp) {
        if (afterSetUp != XenbusState.CONNECTED && afterSetUp != XenbusState.INITIALISED) {
            throw new IllegalArgumentException("after set-up: " + afterSetUp);
        }
        this.ids = List.of(devicetype);
        this.afterSetUp = afterSetUp;
    }

    /** probe: the per-device object. */
    protected abstract D create(XenbusDevice dev) throws Exception;

    /** The backend waits for us: set up and publish the rings; throwing fails the device. */
    protected abstract void connect(XenbusDevice dev, D data) throws Exception;

    /**
     * Both ends are Connected, once per connection (an Initialised frontend switches to Connected after this
     * returns; blkfront reads the disk's details here). Throwing fails the device.
     */
    protected void connected(XenbusDevice dev, D data) throws Exception {}

    /** Take the connection down; called also after a failed connect, so it must be idempotent. */
    protected abstract void disconnect(XenbusDevice dev, D data);

    /** The device is going away for good, after its last disconnect. */
    protected void removed(XenbusDevice dev, D data) {}

    /**
     * netfront_resume: the domain resumed as a new one (migrated, restored), the backend is new; take the old
     * connection down (rings, grants, channels: they meant nothing to the new backend). The bus then watches the
     * new backend and the device connects as at boot. A driver that must keep work across (blkfront's requeue)
     * overrides this. Throwing fails the device.
     */
    protected void resume(XenbusDevice dev, D data) throws Exception {
        disconnect(dev, data);
    }

    /** Before the suspend hypercall (PM freeze); netfront and blkfront have none. */
    protected void suspend(XenbusDevice dev, D data) {}

    @Override
    public final void suspend(XenbusDevice dev) {
        Bound b = devices.get(dev);
        if (b != null) suspend(dev, b.data);
    }

    @Override
    public final void resume(XenbusDevice dev) throws Exception {
        Bound b = devices.get(dev);
        if (b == null) return;
        b.announced = false;
        resume(dev, b.data);
    }

    /**
     * The backend is Reconfiguring while we are Connected (the toolstack changed the device, as libxl does for
     * PCI hot-plug): let go of what is going away (pcifront_detach_devices); we then say Reconfiguring and the
     * backend does the work. Throwing fails the device.
     */
    protected void reconfiguring(XenbusDevice dev, D data) throws Exception {}

    /**
     * The backend is Reconfigured: take up what it published (pcifront_attach_devices, netfront's XDP switch);
     * we then go Connected again. Throwing fails the device.
     */
    protected void reconfigured(XenbusDevice dev, D data) throws Exception {}

    /**
     * A frontend-initiated reconfiguration (netfront's xennet_xdp_set): the driver has written what it wants
     * changed; we go Reconfiguring, the backend applies it and says Reconfigured, {@link #reconfigured} runs and
     * we are Connected again. Only from Connected; false otherwise.
     */
    public final boolean requestReconfiguration(XenbusDevice dev) {
        if (dev.state() != XenbusState.CONNECTED) return false;
        return dev.switchState(XenbusState.RECONFIGURING);
    }

    /** The driver's object for {@code dev} (Linux's dev_get_drvdata), or null if it is not ours or gone. */
    public final D data(XenbusDevice dev) {
        Bound b = devices.get(dev);
        return b == null ? null : b.data;
    }

    /**
     * The objects of the devices that are Connected now and that {@link #connected} ran for (a driver's way to act
     * on all of its connected devices, as Linux's bus_for_each_dev with a state check).
     */
    protected final List<D> connectedData() {
        List<D> out = new ArrayList<>();
        devices.forEach((dev, b) -> {
            if (b.announced && dev.state() == XenbusState.CONNECTED) out.add(b.data);
        });
        return out;
    }

    @Override
    public final List<String> ids() {
        return ids;
    }

    @Override
    public final void probe(XenbusDevice dev) throws Exception {
        devices.put(dev, new Bound(create(dev)));
    }

    @Override
    public final void otherendChanged(XenbusDevice dev, XenbusState backend) {
        Bound b = devices.get(dev);
        if (b == null) return;
        switch (backend) {
            case INIT_WAIT -> {
                if (dev.state() != XenbusState.INITIALISING) return;
                b.announced = false;
                try {
                    connect(dev, b.data);
                } catch (XenbusException.DeviceGone e) {
                    dev.xenbus().printk("xenbus: " + e.getMessage() + " while connecting");
                    disconnect(dev, b.data);
                    return; // the bus removes the device
                } catch (Exception e) {
                    dev.devFatal(XenbusDevice.errnoOf(e), "setting up the rings: " + e.getMessage());
                    disconnect(dev, b.data);
                    return;
                }
                dev.switchState(afterSetUp);
            }
            case CONNECTED -> {
                XenbusState ours = dev.state();
                if (b.announced || ours != XenbusState.CONNECTED && ours != XenbusState.INITIALISED) return;
                b.announced = true;
                try {
                    connected(dev, b.data);
                } catch (Exception e) {
                    dev.devFatal(XenbusDevice.errnoOf(e), e.getMessage());
                    return;
                }
                dev.switchState(XenbusState.CONNECTED);
            }
            case CLOSING, CLOSED -> {
                // A backend still Closed while we (re)start has not seen our Initialising yet: it will answer
                // with InitWait ("prepare for reconnect"), so wait for that rather than close again.
                if (backend == XenbusState.CLOSED && dev.state() == XenbusState.INITIALISING) return;
                if (dev.state() == XenbusState.CLOSED) return;
                // One line for the grants whose end this teardown defers.
                try (var batch = dev.xenbus().deferredGrants().batch()) {
                    disconnect(dev, b.data);
                    dev.frontendClosed();
                }
            }
            case RECONFIGURING -> {
                if (dev.state() != XenbusState.CONNECTED) return;
                try {
                    reconfiguring(dev, b.data);
                } catch (Exception e) {
                    dev.devFatal(XenbusDevice.errnoOf(e), "reconfiguring: " + e.getMessage());
                    return;
                }
                dev.switchState(XenbusState.RECONFIGURING);
            }
            case RECONFIGURED -> {
                if (dev.state() != XenbusState.RECONFIGURING) return;
                try {
                    reconfigured(dev, b.data);
                } catch (Exception e) {
                    dev.devFatal(XenbusDevice.errnoOf(e), "reconfigured: " + e.getMessage());
                    return;
                }
                dev.switchState(XenbusState.CONNECTED);
            }
            default -> {
                // Initialising, Initialised, Unknown: nothing to do (netfront).
            }
        }
    }

    @Override
    public final void remove(XenbusDevice dev) {
        Bound b = devices.remove(dev);
        if (b == null) return;
        try (var batch = dev.xenbus().deferredGrants().batch()) {
            disconnect(dev, b.data);
            removed(dev, b.data);
        }
    }
}
