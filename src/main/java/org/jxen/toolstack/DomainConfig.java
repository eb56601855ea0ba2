package org.jxen.toolstack;

import java.io.IOException;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarFile;
import org.jxen.kernel.CommandLine;
import org.jxen.kernel.ModuleDirectory;

/**
 * What an xl.cfg means to jxen: {@code name} (required), {@code memory} (MiB, default 16), {@code vcpus}
 * (default 1), {@code kernel} (a jar of modules, the guest's kernel image; default: the host's
 * {@code --module-path}), {@code extra} (the kernel command line: {@code blkfront.max_queues=2 ...}),
 * {@code drivers} (extra modules the guest loads at boot, as {@code modules_load=} on its command line; the
 * standard frontends are built in), {@code inproc = 1} (jxen: run the guest inside the host's JVM), and device
 * lists ({@code mydevice = ['0']}, {@code disk = [...]}) attached after boot. xl's other device lists are
 * recognised and refused.
 */
public record DomainConfig(GuestConfig guest, List<DeviceSpec> devices) {
    /** Device classes whose lists xl.cfg may carry. */
    public static final Set<String> DEVICE_LISTS = Set.of("mydevice");
    /** xl.cfg device lists jxen has no devices for yet. */
    private static final Set<String> UNSUPPORTED = Set.of("vfb", "vkb", "pci", "channel", "usbdev",
            "p9", "vtpm", "vdispl", "vsnd", "dtdev", "usbctrl", "pvcalls", "virtio");
    private static final Set<String> KNOWN = Set.of("name", "memory", "vcpus", "drivers", "inproc", "disk", "kernel",
            "extra", "vif");

    public DomainConfig {
        devices = List.copyOf(devices);
    }

    /**
     * The config's meaning, without asking which modules exist (xl's own check before it sends the config to
     * the host, which does not know the host's module path).
     */
    public static DomainConfig parse(String text) throws XlCfgException {
        return parse(text, null);
    }

    /**
     * The config's meaning, each {@code drivers} entry checked against the modules the guest's kernel image has:
     * the jar of {@code kernel}, else {@code hostModulePath}, in front of the class path. Null skips the check.
     */
    public static DomainConfig parse(String text, List<Path> hostModulePath) throws XlCfgException {
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
        List<Path> kernel = List.of();
        if (s.containsKey("kernel")) kernel = List.of(kernelJar(s));
        List<String> cmdline = new ArrayList<>();
        if (s.containsKey("extra")) cmdline.add(string(s, "extra"));
        List<String> drivers = strings(s, "drivers");
        for (String d : drivers) {
            if (!d.matches("[A-Za-z0-9_-]+")) throw new XlCfgException(s.get("drivers").line(), "bad module name '" + d + "'");
        }
        if (!drivers.isEmpty()) {
            if (hostModulePath != null) checkModules(drivers, kernel.isEmpty() ? hostModulePath : kernel, s.get("drivers").line());
            cmdline.add(CommandLine.MODULES_LOAD + String.join(",", drivers));
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
        List<String> vifs = strings(s, "vif");
        for (int i = 0; i < vifs.size(); i++) {
            try {
                devices.add(VifSpec.parse(vifs.get(i), -1).device(i));
            } catch (IllegalArgumentException e) {
                throw new XlCfgException(s.get("vif").line(), "vif: " + e.getMessage());
            }
        }
        GuestConfig guest = new GuestConfig(name, memory, vcpus, GuestConfig.MODULAR_KERNEL,
                CommandLine.of(cmdline).words(), !inproc, kernel);
        return new DomainConfig(guest, devices);
    }

    /** kernel = "/path/to/modules.jar": an absolute path (the host opens it) to a jar. */
    private static Path kernelJar(Map<String, XlCfg.Value> s) throws XlCfgException {
        int line = s.get("kernel").line();
        String v = string(s, "kernel");
        Path p = Path.of(v);
        if (!p.isAbsolute()) throw new XlCfgException(line, "kernel must be an absolute path to a jar of modules, not '" + v + "'");
        if (!Files.isRegularFile(p)) throw new XlCfgException(line, "kernel: " + v + ": No such file or directory");
        try (JarFile _ = new JarFile(p.toFile())) {
            return p;
        } catch (IOException e) {
            throw new XlCfgException(line, "kernel: " + v + " is not a jar of modules (" + e.getMessage() + ")");
        }
    }

    private static void checkModules(List<String> drivers, List<Path> jars, int line) throws XlCfgException {
        List<String> known;
        if (jars.isEmpty()) {
            known = ModuleDirectory.classPath().names();
        } else {
            try (URLClassLoader loader = ModuleDirectory.jarLoader(jars)) {
                known = ModuleDirectory.of(loader).names();
            } catch (IOException | IllegalStateException e) {
                throw new XlCfgException(line, "reading the modules of " + jars + ": " + e.getMessage());
            }
        }
        for (String d : drivers) {
            if (!known.contains(d)) throw new XlCfgException(line, "no driver module " + d + " (known: " + known + ")");
        }
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
