package org.jxen.toolstack;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.jxen.hypervisor.GrantTable;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.process.GuestKernel;
import org.jxen.kernel.CommandLine;
import org.jxen.kernel.ModuleDirectory;

/**
 * What an xl.cfg means to jxen. Every setting xl reads (xl_parse.c; the list is the resource
 * {@code xl-cfg-keys.txt}) is accepted; jxen honours {@code name}, {@code uuid}, {@code memory}, {@code maxmem},
 * {@code vcpus}, {@code maxvcpus}, {@code on_poweroff}/{@code on_reboot}/{@code on_crash}, {@code kernel},
 * {@code cmdline}/{@code root}/{@code extra}, {@code disk}, and its own {@code drivers}, {@code inproc} and
 * device lists ({@code mydevice}); settings for hardware or devices jxen does not have are ignored and named in
 * one warning line ({@link #warnings()}); settings that would give the guest host hardware it will not get
 * ({@link #PASSTHROUGH}) are refused, as running without them would mislead. See docs/xl-cfg.md.
 */
public record DomainConfig(GuestConfig guest, List<DeviceSpec> devices, ShutdownAction.OnShutdown onShutdown,
        List<String> warnings, GrantLimits grantLimits) {
    /** Device classes whose lists xl.cfg may carry, besides disk. */
    public static final Set<String> DEVICE_LISTS = Set.of("mydevice");
    /** Host hardware handed to the guest: refused, since the guest would run without it. */
    static final Set<String> PASSTHROUGH = new TreeSet<>(Set.of("pci", "dtdev", "iomem", "ioports", "irqs", "usbdev",
            "gfx_passthru"));
    /**
     * Settings jxen honours (besides {@link #DEVICE_LISTS}); jxen's own are drivers, inproc, and the two a save
     * image carries for a guest kernel other than the modular one: kernel_class and kernel_args (its exact argv).
     */
    static final Set<String> HONOURED = Set.of("name", "uuid", "memory", "maxmem", "vcpus", "maxvcpus", "on_poweroff",
            "on_reboot", "on_crash", "kernel", "cmdline", "root", "extra", "disk", "vif", "drivers", "inproc",
            "max_grant_frames", "max_maptrack_frames", "kernel_class", "kernel_args");
    /** Every setting xl reads. */
    static final Set<String> XL_KEYS = loadKeys();
    /** jxen's default memory, in MiB. */
    public static final int DEFAULT_MEMORY = 16;
    /** The most a domain may have: what the hypervisor gives a domain at most. */
    public static final int MAX_MEMORY_MIB = Hypervisor.MAX_MEMORY_PAGES / 256;

    public DomainConfig {
        devices = List.copyOf(devices);
        warnings = List.copyOf(warnings);
    }

    /** The same config for a domain called {@code name} (a rename, a restart under the name the domain had). */
    public DomainConfig named(String name) {
        return new DomainConfig(guest.renamed(name), devices, onShutdown, warnings, grantLimits);
    }

    public DomainConfig(GuestConfig guest, List<DeviceSpec> devices) {
        this(guest, devices, ShutdownAction.OnShutdown.XL_DEFAULTS, List.of());
    }

    public DomainConfig(GuestConfig guest, List<DeviceSpec> devices, ShutdownAction.OnShutdown onShutdown,
            List<String> warnings) {
        this(guest, devices, onShutdown, warnings, GrantLimits.DEFAULT);
    }

    /**
     * xl.cfg's {@code max_grant_frames} and {@code max_maptrack_frames}: how far the domain's grant table may
     * grow (jxen's tables hold at most {@link GrantTable#MAX_FRAMES} frames) and how many frames of grant mappings
     * of other domains' pages it may hold (Xen's default 1024).
     */
    public record GrantLimits(int grantFrames, int maptrackFrames) {
        public static final GrantLimits DEFAULT = new GrantLimits(GrantTable.MAX_FRAMES, GrantTable.DEFAULT_MAPTRACK_FRAMES);
    }

    /**
     * The config's meaning, without asking which modules exist (xl's own check before it sends the config to
     * the host, which does not know the host's module path); relative paths are taken from the working directory.
     */
    public static DomainConfig parse(String text) throws XlCfgException {
        return parse(text, null);
    }

    public static DomainConfig parse(String text, List<Path> hostModulePath) throws XlCfgException {
        return parse(text, hostModulePath, Path.of("").toAbsolutePath());
    }

    /**
     * The config's meaning, each {@code drivers} entry checked against the modules the guest's kernel image has:
     * the jar of {@code kernel}, else {@code hostModulePath}, in front of the class path (null skips the check).
     * Relative paths ({@code kernel}, disk targets) are resolved against {@code base}, xl's working directory, as
     * xl (which opens them itself) does.
     */
    public static DomainConfig parse(String text, List<Path> hostModulePath, Path base) throws XlCfgException {
        Map<String, XlCfg.Value> s = XlCfg.parse(text).settings();
        List<String> warnings = checkKeys(s);
        Settings get = new Settings(s);
        if (!s.containsKey("name")) throw new XlCfgException(0, "no name = \"...\" given");
        String name = get.string("name");
        checkName(name, s.get("name").line());
        String uuid = null;
        if (s.containsKey("uuid")) uuid = uuid(get.string("uuid"), s.get("uuid").line());
        int memory = (int) get.number("memory", DEFAULT_MEMORY, 1, MAX_MEMORY_MIB, "MiB");
        int maxmem = (int) get.number("maxmem", memory, 1, MAX_MEMORY_MIB, "MiB");
        if (maxmem < memory) {
            throw new XlCfgException(s.get("maxmem").line(), "maxmem = " + maxmem + " is less than memory = " + memory);
        }
        int vcpus = (int) get.number("vcpus", 1, 1, Hypervisor.MAX_VCPUS, "vCPUs");
        int maxvcpus = (int) get.number("maxvcpus", vcpus, 1, Hypervisor.MAX_VCPUS, "vCPUs");
        if (maxvcpus < vcpus) {
            throw new XlCfgException(s.get("maxvcpus").line(), "maxvcpus = " + maxvcpus + " is less than vcpus = " + vcpus);
        }
        boolean inproc = get.number("inproc", 0, 0, 1, "") != 0;
        GrantLimits grants = new GrantLimits(
                (int) get.number("max_grant_frames", GrantTable.MAX_FRAMES, GrantTable.DEFAULT_FRAMES, GrantTable.MAX_FRAMES, "frames"),
                (int) get.number("max_maptrack_frames", GrantTable.DEFAULT_MAPTRACK_FRAMES, 0, 1 << 20, "frames"));
        ShutdownAction.OnShutdown actions = new ShutdownAction.OnShutdown(action(get, "on_poweroff", ShutdownAction.DESTROY),
                action(get, "on_reboot", ShutdownAction.RESTART), action(get, "on_crash", ShutdownAction.DESTROY));
        List<Path> kernel = List.of();
        String kernelClass = GuestConfig.MODULAR_KERNEL;
        if (s.containsKey("kernel")) {
            Path jar = kernelJar(get.string("kernel"), base, s.get("kernel").line());
            kernel = List.of(jar);
            String own = guestKernelOf(jar, s.get("kernel").line());
            if (own != null) kernelClass = own;
        }
        if (s.containsKey("kernel_class")) {
            kernelClass = get.string("kernel_class");
            if (!kernelClass.matches("[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*")) {
                throw new XlCfgException(s.get("kernel_class").line(), "kernel_class: not a Java class name: " + kernelClass);
            }
        }
        List<String> cmdline = new ArrayList<>();
        String line = commandLine(s, get, warnings);
        if (line != null) cmdline.add(line);
        List<String> exactArgs = s.containsKey("kernel_args") ? get.strings("kernel_args") : null;
        List<String> drivers = get.strings("drivers");
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
            for (String spec : get.strings(kind)) {
                try {
                    devices.add(DeviceSpec.parse(kind, spec));
                } catch (IllegalArgumentException e) {
                    throw new XlCfgException(s.get(kind).line(), e.getMessage());
                }
            }
        }
        for (String spec : get.strings("disk")) {
            try {
                devices.add(DiskSpec.parse(spec).resolvedAgainst(base).device());
            } catch (IllegalArgumentException e) {
                throw new XlCfgException(s.get("disk").line(), "disk: " + e.getMessage());
            }
        }
        List<String> vifs = get.strings("vif");
        for (int i = 0; i < vifs.size(); i++) {
            try {
                devices.add(VifSpec.parse(vifs.get(i), -1).device(i));
            } catch (IllegalArgumentException e) {
                throw new XlCfgException(s.get("vif").line(), "vif: " + e.getMessage());
            }
        }
        List<String> args = CommandLine.of(cmdline).words();
        if (exactArgs != null) {
            // A kernel of its own takes its argv as it was given (words may hold spaces); drivers still follow.
            List<String> all = new ArrayList<>(exactArgs);
            if (!drivers.isEmpty()) all.add(CommandLine.MODULES_LOAD + String.join(",", drivers));
            args = all;
        }
        GuestConfig guest = new GuestConfig(name, memory, vcpus, kernelClass, args, !inproc,
                kernel, uuid, maxmem, maxvcpus);
        return new DomainConfig(guest, devices, actions, warnings, grants);
    }

    /** The one warning line for ignored settings, or null when there is none to print. */
    public String warningLine() {
        return warnings.isEmpty() ? null : String.join("; ", warnings);
    }

    /**
     * Refuses passthrough; collects the settings jxen ignores into (at most) one warning: those of xl it has no
     * use for, then those xl itself does not know (xl ignores them silently, typos included).
     */
    private static List<String> checkKeys(Map<String, XlCfg.Value> s) throws XlCfgException {
        Set<String> ignored = new LinkedHashSet<>();
        Set<String> unknown = new LinkedHashSet<>();
        for (var e : s.entrySet()) {
            String key = e.getKey();
            if (PASSTHROUGH.contains(key)) {
                throw new XlCfgException(e.getValue().line(), key + ": jxen cannot pass host hardware through to a"
                        + " guest, and the guest would run without it (remove " + key + " to boot it anyway)");
            }
            if (HONOURED.contains(key) || DEVICE_LISTS.contains(key)) continue;
            if (XL_KEYS.contains(key)) {
                ignored.add(key);
            } else {
                unknown.add(key);
            }
        }
        List<String> parts = new ArrayList<>();
        if (!ignored.isEmpty()) parts.add("ignoring settings jxen has no hardware or device for: " + String.join(", ", ignored));
        if (!unknown.isEmpty()) parts.add((parts.isEmpty() ? "ignoring" : "and") + " settings xl does not know: " + String.join(", ", unknown));
        return parts.isEmpty() ? new ArrayList<>() : new ArrayList<>(List.of("warning: " + String.join("; ", parts)));
    }

    /** xl_parse.c: cmdline wins over root and extra (with a warning); else "root=ROOT EXTRA". */
    private static String commandLine(Map<String, XlCfg.Value> s, Settings get, List<String> warnings) throws XlCfgException {
        String root = s.containsKey("root") ? get.string("root") : null;
        String extra = s.containsKey("extra") ? get.string("extra") : null;
        if (s.containsKey("cmdline")) {
            if (root != null || extra != null) warnings.add("Warning: ignoring root= and extra= in favour of cmdline=");
            return get.string("cmdline");
        }
        if (root != null) return extra != null ? "root=" + root + " " + extra : "root=" + root;
        return extra;
    }

    /** libxl refuses names a domain id could be taken for, and jxen names that are no file name. */
    static void checkName(String name, int line) throws XlCfgException {
        if (name.matches("[0-9]+")) {
            throw new XlCfgException(line, "domain name '" + name + "' is all digits: xl would take it for a domain id");
        }
        if (!name.matches("[A-Za-z0-9_.-]+") || name.equals(".") || name.equals("..")) {
            throw new XlCfgException(line, "bad domain name '" + name + "' (letters, digits, '_', '.', '-')");
        }
        if (name.length() > 64) throw new XlCfgException(line, "domain name '" + name + "' is longer than 64 characters");
    }

    private static String uuid(String v, int line) throws XlCfgException {
        if (!v.matches("\\p{XDigit}{8}-\\p{XDigit}{4}-\\p{XDigit}{4}-\\p{XDigit}{4}-\\p{XDigit}{12}")) {
            throw new XlCfgException(line, "uuid = '" + v + "' is not a UUID (XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)");
        }
        return UUID.fromString(v).toString();
    }

    private static ShutdownAction action(Settings get, String key, ShutdownAction dflt) throws XlCfgException {
        if (!get.s.containsKey(key)) return dflt;
        String v = get.string(key);
        ShutdownAction a = ShutdownAction.of(v);
        if (a != null) return a;
        int line = get.s.get(key).line();
        if (v.equals("coredump-destroy") || v.equals("coredump-restart") || v.equals("soft-reset")) {
            throw new XlCfgException(line, key + " = \"" + v + "\": jxen has no core dumps or soft reset"
                    + " (destroy, restart, rename-restart or preserve)");
        }
        throw new XlCfgException(line, "Unknown " + key + " action \"" + v + "\" (destroy, restart, rename-restart or preserve)");
    }

    /** kernel = "PATH": a jar (of modules, or with a guest kernel of its own); relative to xl's directory. */
    private static Path kernelJar(String v, Path base, int line) throws XlCfgException {
        Path p;
        try {
            p = base.resolve(v).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            // A NUL (a "\0" escape) is no file name: a message, not a stack trace (found by XlCfgFuzzTest).
            throw new XlCfgException(line, "kernel: '" + v.replace("\0", "\\0") + "' is not a path (" + e.getReason() + ")");
        }
        if (!Files.exists(p)) throw new XlCfgException(line, "kernel: " + p + ": No such file or directory");
        if (!Files.isRegularFile(p)) throw new XlCfgException(line, "kernel: " + p + " is not a file");
        try (JarFile _ = new JarFile(p.toFile())) {
            return p;
        } catch (IOException e) {
            throw new XlCfgException(line, "kernel: " + p + " is not a jar: jxen boots Java guest kernels (a jar of"
                    + " modules, or a jar with a GuestKernel), not a Linux image");
        }
    }

    /** The GuestKernel a jar provides (META-INF/services/org.jxen.hypervisor.process.GuestKernel), or null. */
    private static String guestKernelOf(Path jar, int line) throws XlCfgException {
        try (JarFile j = new JarFile(jar.toFile())) {
            ZipEntry e = j.getEntry("META-INF/services/" + GuestKernel.class.getName());
            if (e == null) return null;
            try (InputStream in = j.getInputStream(e)) {
                for (String l : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                    String c = l.replaceAll("#.*", "").strip();
                    if (!c.isEmpty()) return c;
                }
            }
            return null;
        } catch (IOException e) {
            throw new XlCfgException(line, "kernel: reading " + jar + ": " + e.getMessage());
        }
    }

    private static void checkModules(List<String> drivers, List<Path> jars, int line) throws XlCfgException {
        List<String> known;
        if (jars.isEmpty()) {
            known = ModuleDirectory.classPath().names();
        } else {
            try (URLClassLoader loader = ModuleDirectory.jarLoader(jars)) {
                known = ModuleDirectory.of(loader).names();
            } catch (IOException | RuntimeException | java.util.ServiceConfigurationError e) {
                throw new XlCfgException(line, "reading the modules of " + jars + ": " + e.getMessage());
            }
        }
        for (String d : drivers) {
            if (!known.contains(d)) throw new XlCfgException(line, "no driver module " + d + " (known: " + known + ")");
        }
    }

    private static Set<String> loadKeys() {
        try (InputStream in = DomainConfig.class.getResourceAsStream("xl-cfg-keys.txt")) {
            Set<String> keys = new TreeSet<>();
            for (String l : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!l.isBlank() && !l.startsWith("#")) keys.add(l.strip());
            }
            return Set.copyOf(keys);
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("jxen's list of xl.cfg settings (xl-cfg-keys.txt) is missing", e);
        }
    }

    /** Typed reads of settings, as libxlu's xlu_cfg_get_* (any atom is a string; a number is an atom that parses). */
    private record Settings(Map<String, XlCfg.Value> s) {
        String string(String key) throws XlCfgException {
            XlCfg.Value v = s.get(key);
            String a = XlCfg.atom(v);
            if (a == null) throw new XlCfgException(v.line(), key + " is a list but should be a single value");
            return a;
        }

        long number(String key, long dflt, long min, long max, String unit) throws XlCfgException {
            XlCfg.Value v = s.get(key);
            if (v == null) return dflt;
            String a = string(key);
            long n;
            try {
                n = XlCfg.number(a);
            } catch (NumberFormatException e) {
                if (a.strip().matches("[-+]?([0-9]+|0[xX][0-9a-fA-F]+)")) throw outOfRange(v, key, a, min, max, unit);
                String hint = a.strip().matches("-?[0-9]+\\s*[A-Za-z]+") ? " (" + key + " is a number of " + unit
                        + ", without a unit)" : "";
                throw new XlCfgException(v.line(), key + " = '" + a + "' is not a valid number" + hint);
            }
            if (n < min || n > max) throw outOfRange(v, key, a, min, max, unit);
            return n;
        }

        /** The range stated, the value as written: nothing computed from it can overflow into the message. */
        private static XlCfgException outOfRange(XlCfg.Value v, String key, String a, long min, long max, String unit) {
            String u = unit.isEmpty() ? "" : " " + unit;
            return new XlCfgException(v.line(), key + " = " + a.strip() + " is out of range: " + min + " to " + max + u
                    + (max == MAX_MEMORY_MIB && "MiB".equals(unit) ? " (jxen's limit per domain)" : ""));
        }

        List<String> strings(String key) throws XlCfgException {
            XlCfg.Value v = s.get(key);
            if (v == null) return List.of();
            if (!(v instanceof XlCfg.Lst list)) {
                throw new XlCfgException(v.line(), key + " is a single value but should be a list, e.g. " + key + " = ['...']");
            }
            List<String> out = new ArrayList<>();
            for (XlCfg.Value item : list.items()) out.add(XlCfg.atom(item));
            return out;
        }
    }
}
