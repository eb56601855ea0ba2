package org.jxen.hypervisor;

/** The upcall: called on the domain's event thread once per delivery, after the port's pending bit was cleared. */
@FunctionalInterface
public interface EventHandler {
    void onEvent(int port);
}
