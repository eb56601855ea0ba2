package org.jxen.drivers;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.jxen.drivers.blk.BlkBack;
import org.jxen.drivers.blk.BlkFront;
import org.jxen.drivers.mydevice.MyDeviceBack;
import org.jxen.drivers.mydevice.MyDeviceFront;
import org.jxen.xenbus.KernelModule;

/** The modules a jxen kernel can load by name (what modprobe finds), and which of them dom0 loads at boot. */
public final class DriverModules {
    private static final Map<String, Supplier<KernelModule>> MODULES = new TreeMap<>();
    /** Backends the host loads into dom0 at boot. */
    private static final List<String> DOM0_BACKENDS = List.of(MyDeviceBack.NAME, BlkBack.NAME);

    static {
        MODULES.put(MyDeviceFront.NAME, MyDeviceFront::new);
        MODULES.put(MyDeviceBack.NAME, MyDeviceBack::new);
        MODULES.put(BlkFront.NAME, BlkFront::new);
        MODULES.put(BlkBack.NAME, BlkBack::new);
    }

    private DriverModules() {}

    public static KernelModule create(String name) {
        Supplier<KernelModule> s = MODULES.get(name);
        if (s == null) throw new IllegalArgumentException("no such module: " + name + " (known: " + MODULES.keySet() + ")");
        return s.get();
    }

    public static List<String> names() {
        return List.copyOf(MODULES.keySet());
    }

    public static List<String> dom0Backends() {
        return DOM0_BACKENDS;
    }
}
