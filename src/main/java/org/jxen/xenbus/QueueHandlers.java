package org.jxen.xenbus;

import org.jxen.hypervisor.EventHandler;

/** The event handler for each queue's channel ({@code ""}, or {@code "tx"}/{@code "rx"} when split). */
@FunctionalInterface
public interface QueueHandlers {
    EventHandler handler(int queue, String channel);
}
