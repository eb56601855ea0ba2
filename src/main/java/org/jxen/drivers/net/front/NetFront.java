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
 * programs see it. Parameter {@code max_queues} as Linux's (default: min(8, CPUs)).
 */
public final class NetFront implements KernelModule {
    public static final String NAME = "netfront";

    /** @param maxQueues the most queues asked for */
    public record Params(int maxQueues) {
        public static final Params DEFAULT = new Params(Math.min(8, Runtime.getRuntime().availableProcessors()));

        public Params {
            if (maxQueues < 1 || maxQueues > 64) throw new IllegalArgumentException("maxQueues " + maxQueues);
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
    public String name() {
        return NAME;
    }

    @Override
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.GUEST;
    }

    @Override
    public void parameter(String key, String value) {
        if (!key.equals("max_queues")) throw new UnknownParameterException(key);
        params = new Params(ModuleParameters.uint(value));
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

    @Override
    public void killed(Kernel kernel) {
        if (driver != null) driver.killAll();
    }
}
