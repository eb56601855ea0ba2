package org.jxen.toolstack;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jxen.drivers.DriverModules;

/**
 * What an xl.cfg means to jxen: {@code name} (required), {@code memory} (MiB, default 16), {@code vcpus}
 * (default 1), {@code drivers} (the modules the guest kernel loads: jxen's stand-in for a kernel and its
 * modules), {@code inproc = 1} (jxen: run the guest inside the host's JVM), and device lists
 * ({@code mydevice = ['0']}) attached after boot. xl's other device lists are recognised and refused.
 */
public record DomainConfig(GuestConfig guest, List<DeviceSpec> devices) {
    /** Device classes whose lists xl.cfg may carry. */
    public static final Set<String> DEVICE_LISTS = Set.of("mydevice");
    /** xl.cfg device lists jxen has no devices for yet. */
    private static final Set<String> UNSUPPORTED = Set.of("vif", "vfb", "vkb", "pci", "channel", "usbdev",
            "p9", "vtpm", "vdispl", "vsnd", "dtdev", "usbctrl", "pvcalls", "virtio");
    private static final Set<String> KNOWN = Set.of("name", "memory", "vcpus", "drivers", "inproc", "disk");

    public DomainConfig {
        devices = List.copyOf(devices);
    }

    public static DomainConfig parse(String text) throws XlCfgException {
        Map<String, XlCfg.Value> s = XlCfg.parse(text).settings();
        for (var e : s.entrySet()) {
            String key = e.getKey();
            if (UNSUPPORTED.contains(key)) {
                throw new XlCfgException(e.getValue().line(), key + " devices are not supported yet");
            }
            if (!KNOWN.contains(key) && !DEVICE_LISTS.contains(key)) {
                throw new XlCfgException(e.getValue().line(), "unknown setting " + key);
            }
        }
        if (!s.containsKey("name")) throw new XlCfgException(0, "no name = \"...\" given");
        String name = string(s, "name");
        if (!name.matches("[A-Za-z0-9_.-]+")) throw new XlCfgException(s.get("name").line(), "bad domain name '" + name + "'");
        int memory = positive(s, "memory", 16);
        int vcpus = positive(s, "vcpus", 1);
        boolean inproc = positive(s, "inproc", 0, 0) != 0;
        List<String> drivers = strings(s, "drivers");
        for (String d : drivers) {
            if (!DriverModules.known(d)) {
                throw new XlCfgException(s.get("drivers").line(), "no driver module " + d + " (known: " + DriverModules.names() + ")");
            }
        }
        List<DeviceSpec> devices = new ArrayList<>();
        for (String kind : s.keySet()) {
            if (!DEVICE_LISTS.contains(kind)) continue;
            for (String spec : strings(s, kind)) {
                try {
                    devices.add(DeviceSpec.parse(kind, spec));
                } catch (IllegalArgumentException e) {
                    throw new XlCfgException(s.get(kind).line(), e.getMessage());
                }
            }
        }
        for (String spec : strings(s, "disk")) {
            try {
                devices.add(DiskSpec.parse(spec).device());
            } catch (IllegalArgumentException e) {
                throw new XlCfgException(s.get("disk").line(), "disk: " + e.getMessage());
            }
        }
        GuestConfig guest = new GuestConfig(name, memory, vcpus, GuestConfig.MODULAR_KERNEL, drivers, !inproc);
        return new DomainConfig(guest, devices);
    }

    private static String string(Map<String, XlCfg.Value> s, String key) throws XlCfgException {
        XlCfg.Value v = s.get(key);
        if (v instanceof XlCfg.Str str) return str.value();
        throw new XlCfgException(v.line(), key + " must be a string");
    }

    private static int positive(Map<String, XlCfg.Value> s, String key, int dflt) throws XlCfgException {
        return positive(s, key, dflt, 1);
    }

    private static int positive(Map<String, XlCfg.Value> s, String key, int dflt, int min) throws XlCfgException {
        XlCfg.Value v = s.get(key);
        if (v == null) return dflt;
        if (!(v instanceof XlCfg.Num n)) throw new XlCfgException(v.line(), key + " must be a number");
        if (n.value() < min || n.value() > Integer.MAX_VALUE) {
            throw new XlCfgException(v.line(), key + " must be " + (min == 0 ? "0 or more" : "positive") + ", not " + n.value());
        }
        return (int) n.value();
    }

    private static List<String> strings(Map<String, XlCfg.Value> s, String key) throws XlCfgException {
        XlCfg.Value v = s.get(key);
        if (v == null) return List.of();
        if (!(v instanceof XlCfg.Lst list)) throw new XlCfgException(v.line(), key + " must be a list, e.g. " + key + " = ['...']");
        List<String> out = new ArrayList<>();
        for (XlCfg.Value item : list.items()) {
            if (!(item instanceof XlCfg.Str str)) throw new XlCfgException(item.line(), key + " entries must be strings");
            out.add(str.value());
        }
        return out;
    }
}
