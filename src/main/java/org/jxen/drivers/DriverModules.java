package org.jxen.drivers;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.jxen.drivers.blk.back.BlkBack;
import org.jxen.drivers.blk.front.BlkFront;
import org.jxen.drivers.exec.GuestExec;
import org.jxen.drivers.mydevice.MyDeviceBack;
import org.jxen.drivers.mydevice.MyDeviceFront;
import org.jxen.kernel.KernelModule;

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
        MODULES.put(GuestExec.NAME, GuestExec::new);
    }

    private DriverModules() {}

    /**
     * The module {@code name}, or {@code name:key=value,...} with parameters: only blkfront has one,
     * {@code blkfront:queues=N} (the queues it asks for, default 4) and {@code persistent=0|1} (feature-persistent,
     * default 1).
     */
    public static KernelModule create(String spec) {
        int colon = spec.indexOf(':');
        String name = colon < 0 ? spec : spec.substring(0, colon);
        if (colon >= 0) {
            if (!name.equals(BlkFront.NAME)) throw new IllegalArgumentException("module " + name + " takes no parameters");
            BlkFront.Params p = BlkFront.Params.DEFAULT;
            for (String kv : spec.substring(colon + 1).split(",")) {
                String[] f = kv.split("=", 2);
                if (f.length != 2) throw new IllegalArgumentException("unknown blkfront parameter " + kv);
                p = switch (f[0]) {
                    case "queues" -> new BlkFront.Params(Integer.parseInt(f[1]), p.maxRingPageOrder(),
                            p.maxIndirectSegments(), p.poolPages(), p.featurePersistent());
                    case "persistent" -> new BlkFront.Params(p.maxQueues(), p.maxRingPageOrder(),
                            p.maxIndirectSegments(), p.poolPages(), switch (f[1]) {
                                case "1" -> true;
                                case "0" -> false;
                                default -> throw new IllegalArgumentException("blkfront persistent=" + f[1] + ": 0 or 1");
                            });
                    default -> throw new IllegalArgumentException("unknown blkfront parameter " + kv);
                };
            }
            return new BlkFront(p);
        }
        Supplier<KernelModule> s = MODULES.get(name);
        if (s == null) throw new IllegalArgumentException("no such module: " + name + " (known: " + MODULES.keySet() + ")");
        return s.get();
    }

    /** Whether {@code spec} names a module (parameters are checked when it is created). */
    public static boolean known(String spec) {
        int colon = spec.indexOf(':');
        return MODULES.containsKey(colon < 0 ? spec : spec.substring(0, colon));
    }

    public static List<String> names() {
        return List.copyOf(MODULES.keySet());
    }

    public static List<String> dom0Backends() {
        return DOM0_BACKENDS;
    }
}
