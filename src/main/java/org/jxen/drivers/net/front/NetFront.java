package org.jxen.drivers.net.front;

import org.jxen.drivers.net.NetLink;
import org.jxen.drivers.net.TapLink;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;
import org.jxen.kernel.ModuleParameters;
import org.jxen.kernel.UnknownParameterException;

/**
 * xen-netfront.ko: the frontend driver for device class {@code vif}, built into a guest's kernel. Each device is
 * a TAP interface {@code eth<devid>} in the guest's network namespace ({@link Kernel#netns()}), where the guest's
 * programs see it. Parameter {@code max_queues} as Linux's (default: min(8, CPUs)); {@code ctrl_ring} (default 0,
 * as Linux's netfront, which has none) connects a control ring when the backend offers one.
 */
public final class NetFront implements KernelModule {
    public static final String NAME = "netfront";

    /**
     * @param maxQueues the most queues asked for
     * @param ctrlRing  whether to connect a control ring when the backend offers one (Linux's netfront never does)
     * @param features  the feature keys written at connect (Linux's: all of {@link #FEATURES}); fewer make an
     *                  older frontend, for tests of the backend against it
     */
    public record Params(int maxQueues, boolean ctrlRing, java.util.Set<String> features) {
        public static final java.util.Set<String> FEATURES = java.util.Set.of("feature-rx-notify", "feature-sg",
                "feature-gso-tcpv4", "feature-gso-tcpv6", "feature-ipv6-csum-offload");
        public static final Params DEFAULT = new Params(Math.min(8, Runtime.getRuntime().availableProcessors()));

        public Params {
            if (maxQueues < 1 || maxQueues > 64) throw new IllegalArgumentException("maxQueues " + maxQueues);
            features = java.util.Set.copyOf(features);
            if (!FEATURES.containsAll(features)) throw new IllegalArgumentException("features " + features);
        }

        public Params(int maxQueues) {
            this(maxQueues, false, FEATURES);
        }
    }

    /** How a kernel's interfaces are made: TAP devices in its namespace unless a test gives another. */
    public interface Links {
        NetLink.Factory of(Kernel kernel);
    }

    private final Links links;
    private Params params;
    private NetfrontDriver driver;

    public NetFront() {
        this(Params.DEFAULT, k -> TapLink.in(k.netns()));
    }

    public NetFront(Params params, Links links) {
        this.params = params;
        this.links = links;
    }

    @Override
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.GUEST;
    }

    @Override
    public void parameter(String key, String value) {
        params = switch (key) {
            case "max_queues" -> new Params(ModuleParameters.uint(value), params.ctrlRing(), params.features());
            case "ctrl_ring" -> new Params(params.maxQueues(), ModuleParameters.bool(value), params.features());
            default -> throw new UnknownParameterException(key);
        };
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        driver = new NetfrontDriver(params, links.of(kernel), kernel);
        kernel.xenbus().frontend().register(driver);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().frontend().unregister(driver);
    }

    /** The control ring of interface {@code ifname} while it is connected with one, else null. */
    public NetfrontCtrl ctrl(String ifname) {
        return driver == null ? null : driver.ctrl(ifname);
    }

    @Override
    public void killed(Kernel kernel) {
        if (driver != null) driver.killAll();
    }
}
