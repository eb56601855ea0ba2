package org.jxen.xenbus;

import java.util.List;

/**
 * Linux's {@code struct xenbus_driver}: the device classes it drives and its callbacks. Every callback runs on
 * its bus's worker thread, one at a time per bus, so a driver needs no locking between them; it may block on
 * XenStore but should not wait for the other end (the other end's events are delivered on the same thread).
 */
public interface XenbusDriver {
    /** Device classes (the {@code C} in {@code device/C/N} or {@code backend/C/U/N}), e.g. "mydevice". */
    List<String> ids();

    /** A new device of one of our classes reads Initialising; throwing fails the probe (the device is dropped). */
    void probe(XenbusDevice dev) throws Exception;

    /** The other end's {@code state} node changed; {@code state} was re-read, so events may have coalesced. */
    void otherendChanged(XenbusDevice dev, XenbusState state);

    /** The device is going away (its nodes were removed, the driver unloads, or it was replaced). */
    default void remove(XenbusDevice dev) {}

    /** Before a suspend: the connection to the other end will be lost. */
    default void suspend(XenbusDevice dev) {}

    /** After a resume: the other end is new; the device's state is back to Initialising. */
    default void resume(XenbusDevice dev) throws Exception {}

    /**
     * Backends only, netback's choice: defer state writes made through {@link BackendStates} until the hotplug
     * script reported {@code hotplug-status = connected}. Only for devices whose toolstack runs a script.
     */
    default boolean waitsForHotplug() {
        return false;
    }
}
