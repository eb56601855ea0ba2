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

    /**
     * @param separateTxRxIrq feature-split-event-channels
     * @param maxQueues       multi-queue-max-queues
     * @param features        the optional keys advertised at probe (Linux's netback: all of {@link #FEATURES});
     *                        fewer make an older backend, for tests of netfront against it
     */
    public record Params(boolean separateTxRxIrq, int maxQueues, java.util.Set<String> features) {
        public static final java.util.Set<String> FEATURES = java.util.Set.of("feature-sg", "feature-gso-tcpv4",
                "feature-gso-tcpv6", "feature-ipv6-csum-offload", "feature-multicast-control",
                "feature-dynamic-multicast-control", "feature-split-event-channels", "multi-queue-max-queues",
                "feature-ctrl-ring");
        public static final Params DEFAULT = new Params(true, 8);

        public Params {
            if (maxQueues < 1 || maxQueues > 64) throw new IllegalArgumentException("maxQueues " + maxQueues);
            features = java.util.Set.copyOf(features);
            if (!FEATURES.containsAll(features)) throw new IllegalArgumentException("features " + features);
        }

        public Params(boolean separateTxRxIrq, int maxQueues) {
            this(separateTxRxIrq, maxQueues, FEATURES);
        }

        boolean has(String feature) {
            return features.contains(feature);
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
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.DOM0;
    }

    @Override
    public void parameter(String key, String value) {
        params = switch (key) {
            case "separate_tx_rx_irq" -> new Params(ModuleParameters.bool(value), params.maxQueues(), params.features());
            case "max_queues" -> new Params(params.separateTxRxIrq(), ModuleParameters.uint(value), params.features());
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

    /** Per queue of interface {@code vif} (e.g. vif1.0) while connected: {tx packets, rx packets}; empty if none. */
    public java.util.List<long[]> queueCounters(String vif) {
        return driver == null ? java.util.List.of() : driver.queueCounters(vif);
    }

    /** The control ring's hash settings of {@code vif}, as Linux's debugfs shows them; null without one. */
    public String ctrlDump(String vif) {
        return driver == null ? null : driver.ctrlDump(vif);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().backend().unregister(driver);
    }
}
