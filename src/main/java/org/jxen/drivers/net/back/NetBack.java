package org.jxen.drivers.net.back;

import org.jxen.drivers.net.NetLink;
import org.jxen.drivers.net.TapLink;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;
import org.jxen.kernel.ModuleParameters;
import org.jxen.kernel.UnknownParameterException;

/**
 * xen-netback.ko: the backend driver for device class {@code vif}, built into dom0's kernel. Each vif is a TAP
 * device {@code vif<domid>.<handle>} in dom0's (the host's) network namespace, which the {@code vif-bridge}
 * hotplug script plugs into a bridge. Parameters as Linux netback's: {@code separate_tx_rx_irq} (bool, default
 * 1) and {@code max_queues} (default 8).
 */
public final class NetBack implements KernelModule {
    public static final String NAME = "netback";

    /** @param separateTxRxIrq feature-split-event-channels; @param maxQueues multi-queue-max-queues */
    public record Params(boolean separateTxRxIrq, int maxQueues) {
        public static final Params DEFAULT = new Params(true, 8);

        public Params {
            if (maxQueues < 1 || maxQueues > 64) throw new IllegalArgumentException("maxQueues " + maxQueues);
        }
    }

    private final NetLink.Factory links;
    private Params params;
    private NetbackDriver driver;

    public NetBack() {
        this(Params.DEFAULT, TapLink.host());
    }

    /** netback whose vifs are opened by {@code links} (tests give a pipe instead of a TAP device). */
    public NetBack(Params params, NetLink.Factory links) {
        this.params = params;
        this.links = links;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.DOM0;
    }

    @Override
    public void parameter(String key, String value) {
        params = switch (key) {
            case "separate_tx_rx_irq" -> new Params(ModuleParameters.bool(value), params.maxQueues());
            case "max_queues" -> new Params(params.separateTxRxIrq(), ModuleParameters.uint(value));
            default -> throw new UnknownParameterException(key);
        };
    }

    public Params params() {
        return params;
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        driver = new NetbackDriver(params, links);
        kernel.xenbus().backend().register(driver);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().backend().unregister(driver);
    }
}
