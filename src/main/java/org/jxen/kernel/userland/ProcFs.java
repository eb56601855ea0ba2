package org.jxen.kernel.userland;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.jxen.kernel.Disk;
import org.jxen.kernel.Kernel;
import org.jxen.xenbus.XenbusBus;
import org.jxen.xenbus.XenbusDevice;

/**
 * The few files of /proc, /sys and /dev a guest user looks at to see its devices, made on each read from the
 * kernel's own state, in Linux's formats: {@code /proc/xen/capabilities} ({@code control_d} in dom0, empty in a
 * guest), {@code /proc/partitions} (xvd disks: major 202, 16 minors a disk, sizes in KiB),
 * {@code /proc/modules}, {@code /proc/<n>/io} per running {@code xl exec} command {@code n} (its {@code rchar} and
 * {@code wchar}: the bytes it read and wrote since this kernel started or resumed it), {@code /sys/bus/xen/devices/<type>-<id>/} (and {@code xen-backend}'s
 * {@code <type>-<domid>-<id>}) with each device's {@code nodename}, {@code devtype}, {@code modalias} and
 * {@code state}, and {@code /dev} (the disks). {@code cat} and {@code ls} read it.
 */
final class ProcFs {
    /** xvd's block major (Linux's XENVBD_MAJOR). */
    static final int XVD_MAJOR = 202;

    /** A file (its text) or a directory (its entries, in order). */
    sealed interface Node permits File, Dir {}

    record File(Supplier<String> text) implements Node {}

    record Dir(Supplier<Map<String, Node>> entries) implements Node {}

    private ProcFs() {}

    /** The node at an absolute path ({@code /proc//xen/} is {@code /proc/xen}), or null. */
    static Node lookup(Kernel kernel, String path) {
        if (!path.startsWith("/")) return null;
        Node n = root(kernel);
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) continue;
            if (!(n instanceof Dir d)) return null;
            n = d.entries().get().get(part);
            if (n == null) return null;
        }
        return n;
    }

    private static Dir root(Kernel k) {
        Dir fixed = dir(Map.of(
                "xen", dir(Map.of("capabilities", new File(() -> k.domid() == 0 ? "control_d\n" : ""))),
                "partitions", new File(() -> partitions(k)),
                "modules", new File(() -> modules(k))));
        Dir proc = new Dir(() -> {
            // As Linux lists its processes' numbers before its files.
            Map<String, Node> m = new LinkedHashMap<>();
            GuestExec exec = k.module(GuestExec.class);
            if (exec != null) {
                exec.io().forEach((n, io) -> m.put(n, dir(Map.of("io",
                        new File(() -> "rchar: " + io[0] + "\nwchar: " + io[1] + "\n")))));
            }
            m.putAll(fixed.entries().get());
            return m;
        });
        Dir bus = dir(Map.of(
                "xen", dir(Map.of("devices", new Dir(() -> devices(k.xenbus().frontend())))),
                "xen-backend", dir(Map.of("devices", new Dir(() -> devices(k.xenbus().backend()))))));
        return dir(Map.of("dev", new Dir(() -> devDir(k)), "proc", proc, "sys", dir(Map.of("bus", bus))));
    }

    /** A fixed directory, its entries sorted as ls sorts them. */
    private static Dir dir(Map<String, Node> entries) {
        Map<String, Node> sorted = new LinkedHashMap<>();
        entries.keySet().stream().sorted().forEach(name -> sorted.put(name, entries.get(name)));
        return new Dir(() -> sorted);
    }

    private static Map<String, Node> devDir(Kernel k) {
        Map<String, Node> m = new LinkedHashMap<>();
        for (String name : k.disks().names()) m.put(name, new File(() -> ""));
        return m;
    }

    /** /proc/partitions: {@code major minor  #blocks  name}, a blank line, then one line per disk. */
    static String partitions(Kernel k) {
        StringBuilder b = new StringBuilder("major minor  #blocks  name\n\n");
        for (String name : k.disks().names()) {
            Disk d = k.disks().await(name).getNow(null);
            if (d == null) continue;
            b.append(String.format("%4d  %7d %10d %s%n", XVD_MAJOR, d.minor(), d.sectors() / 2, name));
        }
        return b.toString();
    }

    /** /proc/modules: {@code name size refcount deps state address}, the last loaded first, as lsmod reads it. */
    static String modules(Kernel k) {
        StringBuilder b = new StringBuilder();
        for (String name : k.lsmod()) b.append(name).append(" 0 0 - Live 0x0000000000000000\n");
        return b.toString();
    }

    /** /sys/bus/xen[-backend]/devices: Linux's bus ids, {@code vbd-51712} and {@code vbd-1-51712}. */
    private static Map<String, Node> devices(XenbusBus bus) {
        Map<String, Node> m = new LinkedHashMap<>();
        List<XenbusDevice> devs = new ArrayList<>(bus.devices());
        devs.sort((a, b) -> busId(a).compareTo(busId(b)));
        for (XenbusDevice d : devs) {
            m.put(busId(d), dir(Map.of(
                    "nodename", new File(() -> d.nodename() + "\n"),
                    "devtype", new File(() -> d.devicetype() + "\n"),
                    "modalias", new File(() -> "xen" + (d.isBackend() ? "-backend" : "") + ":" + d.devicetype() + "\n"),
                    "state", new File(() -> d.state().displayName + "\n"))));
        }
        return m;
    }

    /** The node's path after {@code device/} or {@code backend/}, its slashes as dashes. */
    static String busId(XenbusDevice d) {
        String[] parts = d.nodename().split("/");
        int from = 0;
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].equals("device") || parts[i].equals("backend")) from = i + 1;
        }
        return String.join("-", java.util.Arrays.copyOfRange(parts, from, parts.length));
    }
}
