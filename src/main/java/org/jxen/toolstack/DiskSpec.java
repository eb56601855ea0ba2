package org.jxen.toolstack;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jxen.drivers.blk.Vdev;

/**
 * An xl disk spec (xl-disk-configuration(5)), the subset jxen's blkback serves: raw images and block devices.
 * Keys {@code format=}, {@code vdev=}, {@code access=}, {@code devtype=}, {@code backend=},
 * {@code backendtype=}, {@code script=}, {@code target=} (last: it takes the rest of the spec, commas included);
 * positional parameters in the order target, format, vdev, access, where a deprecated {@code phy:}/{@code file:}
 * prefix on the target stands for the format; an empty positional parameter keeps the default. Flags
 * {@code discard} / {@code no-discard} (libxl's discard_enable, default on for a writable disk);
 * {@code direct-io-safe} is accepted and ignored.
 *
 * <p>{@link #device(int)} turns it into what libxl writes: backend {@code params} (the target), {@code mode}
 * ({@code r}/{@code w}), {@code type} ({@code phy} for a block device, {@code file} otherwise),
 * {@code device-type = disk}, {@code dev} (the vdev), {@code removable = 0}, {@code bootable = 1},
 * {@code discard-enable} ({@code 1}/{@code 0}: blkback offers feature-discard only if 1); frontend
 * {@code virtual-device} (the device number) and {@code device-type}.
 */
public record DiskSpec(String target, String format, String vdev, boolean readOnly, int backendDomid,
        String backendType, String devtype, boolean discard, boolean force, String script) {

    public int devid() {
        return Vdev.devid(vdev);
    }

    public static DiskSpec parse(String spec) {
        String format = "raw";
        String vdev = null;
        String access = "rw";
        String target = null;
        String devtype = "disk";
        String backendType = null;
        int backend = 0;
        Boolean discard = null;
        String script = null;
        int positional = 0;
        String rest = spec;
        while (rest != null) {
            String tok;
            int comma = rest.indexOf(',');
            String head = (comma < 0 ? rest : rest.substring(0, comma));
            if (head.strip().startsWith("target=")) { // eats the rest of the string
                target = rest.strip().substring("target=".length());
                break;
            }
            tok = head.strip();
            rest = comma < 0 ? null : rest.substring(comma + 1);
            int eq = tok.indexOf('=');
            if (eq >= 0) {
                String key = tok.substring(0, eq).strip();
                String val = tok.substring(eq + 1).strip();
                switch (key) {
                    case "format" -> format = val;
                    case "vdev" -> vdev = val;
                    case "access" -> access = val;
                    case "devtype" -> devtype = val;
                    case "backend" -> backend = domid(val);
                    case "backendtype" -> backendType = val;
                    case "script" -> { // libxl: a bare name is in XEN_SCRIPT_DIR; block is jxen's own
                        if (!val.equals("block") && !val.startsWith("/")) {
                            throw new IllegalArgumentException("script " + val + " is not supported (block, or an absolute path)");
                        }
                        script = val.equals("block") ? null : val;
                    }
                    case "discard", "no-discard", "direct-io-safe" -> { }
                    default -> throw new IllegalArgumentException("unknown disk spec parameter '" + key + "'");
                }
                continue;
            }
            switch (tok) {
                case "cdrom" -> { devtype = "cdrom"; continue; }
                case "discard" -> { discard = true; continue; }
                case "no-discard" -> { discard = false; continue; }
                case "direct-io-safe" -> { continue; }
                default -> { }
            }
            switch (positional++) {
                case 0 -> {
                    if (tok.startsWith("phy:") || tok.startsWith("file:")) {
                        backendType = "phy";
                        tok = tok.substring(tok.indexOf(':') + 1);
                        positional++; // the prefix stands for the format
                    } else if (tok.startsWith("aio:") || tok.startsWith("tap:")) {
                        throw new IllegalArgumentException("deprecated prefix in '" + tok + "' is not supported");
                    }
                    if (!tok.isEmpty()) target = tok;
                }
                case 1 -> { if (!tok.isEmpty()) format = tok; }
                case 2 -> { if (!tok.isEmpty()) vdev = tok; }
                case 3 -> { if (!tok.isEmpty()) access = tok; }
                default -> throw new IllegalArgumentException("too many positional parameters in disk spec '" + spec + "'");
            }
        }
        if (!format.equals("raw")) throw new IllegalArgumentException("disk format " + format + " is not supported (only raw)");
        // A PV cdrom is a disk the guest is told is one (device-type = cdrom); its medium is changed by detaching
        // and attaching, as cd-insert and cd-eject are for HVM guests.
        if (!devtype.equals("disk") && !devtype.equals("cdrom")) throw new IllegalArgumentException("unknown value for devtype: " + devtype);
        if (backendType != null && !backendType.equals("phy")) {
            throw new IllegalArgumentException("backendtype " + backendType + " is not supported (only phy)");
        }
        boolean ro = switch (access) {
            case "r", "ro" -> true;
            case "w", "rw", "w!", "rw!" -> false;
            default -> throw new IllegalArgumentException("invalid access '" + access + "' (r, ro, w, rw, or w! to share it writable)");
        };
        // xm's "w!" (Xen's block script canonicalise_mode): writable, and attached even if another domain has it.
        boolean force = access.endsWith("!");
        if (vdev == null) throw new IllegalArgumentException("disk spec '" + spec + "' has no vdev");
        if (target == null || target.isEmpty()) throw new IllegalArgumentException("disk spec '" + spec + "' has no target");
        Vdev.devid(vdev); // validates
        // libxl__device_disk_setdefault: discard_enable defaults to the disk being writable.
        return new DiskSpec(target, format, vdev, ro, backend, "phy", devtype, discard != null ? discard : !ro, force, script);
    }

    /** The spec with a relative target taken from {@code base} (xl's directory; a null: disk has no path). */
    public DiskSpec resolvedAgainst(Path base) {
        if (target.startsWith("null:") || Path.of(target).isAbsolute()) return this;
        return new DiskSpec(base.resolve(target).normalize().toString(), format, vdev, readOnly, backendDomid, backendType,
                devtype, discard, force, script);
    }

    private static int domid(String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("backend must be a domain id, not '" + v + "'");
        }
    }

    /** The vbd device libxl adds for this disk. */
    public DeviceSpec device() {
        Map<String, String> be = new LinkedHashMap<>();
        be.put("params", target);
        be.put("mode", readOnly ? "r" : force ? "w!" : "w");
        be.put("type", Files.isRegularFile(Path.of(target)) || !Files.exists(Path.of(target)) ? "file" : "phy");
        be.put("device-type", devtype);
        be.put("dev", vdev);
        be.put("removable", "0");
        be.put("bootable", "1");
        be.put("discard-enable", discard ? "1" : "0");
        if (script != null) be.put("script", script); // run instead of jxen's block (Debian's /etc/xen/scripts/block)
        Map<String, String> fe = new LinkedHashMap<>();
        fe.put("virtual-device", Integer.toString(devid()));
        fe.put("device-type", devtype);
        return new DeviceSpec("vbd", devid(), backendDomid, be, fe);
    }

    /**
     * The hotplug script for vbd: {@code scripts/hotplug/block} of the jxen installation, found from
     * {@code -Djxen.home}, {@code $JXEN_HOME}, the location of jxen's classes or jar (the project root above
     * {@code target/}), or the working directory. Null if none has it.
     */
    public static Path blockScript() {
        java.util.List<Path> roots = new java.util.ArrayList<>();
        String prop = System.getProperty("jxen.home");
        if (prop != null && !prop.isEmpty()) roots.add(Path.of(prop));
        String env = System.getenv("JXEN_HOME");
        if (env != null && !env.isEmpty()) roots.add(Path.of(env));
        try {
            Path code = Path.of(DiskSpec.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path p = code; p != null; p = p.getParent()) roots.add(p);
        } catch (Exception e) {
            // no code source: fall through
        }
        roots.add(Path.of("").toAbsolutePath());
        for (Path r : roots) {
            Path s = r.resolve("scripts/hotplug/block");
            if (Files.isExecutable(s)) return s.toAbsolutePath();
        }
        return null;
    }
}
