package org.jxen.toolstack;

/**
 * One device of an xl.cfg device list or of {@code xl device-attach}: its class (the XenStore directory name,
 * e.g. {@code mydevice}), its device id, and the back end's domain (dom0 unless {@code backend=} says).
 */
public record DeviceSpec(String kind, int devid, int backendDomid, java.util.Map<String, String> backendNodes,
        java.util.Map<String, String> frontendNodes) {
    public DeviceSpec {
        if (!kind.matches("[a-z][a-z0-9_-]*")) throw new IllegalArgumentException("bad device class: " + kind);
        if (devid < 0) throw new IllegalArgumentException("device id must not be negative");
        if (backendDomid < 0) throw new IllegalArgumentException("backend domain must not be negative");
        backendNodes = java.util.Map.copyOf(backendNodes);
        frontendNodes = java.util.Map.copyOf(frontendNodes);
    }

    /** A device with no class-specific nodes (the extra backend/frontend nodes libxl writes per class). */
    public DeviceSpec(String kind, int devid, int backendDomid) {
        this(kind, devid, backendDomid, java.util.Map.of(), java.util.Map.of());
    }

    /** An xl device spec: {@code "0"} or {@code "id=0"}, optionally {@code ",backend=0"}. */
    public static DeviceSpec parse(String kind, String spec) {
        int devid = -1;
        int backend = 0;
        for (String part : spec.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) continue;
            int eq = p.indexOf('=');
            String key = eq < 0 ? "id" : p.substring(0, eq).strip();
            String val = eq < 0 ? p : p.substring(eq + 1).strip();
            switch (key) {
                case "id", "devid" -> devid = number(key, val);
                case "backend" -> backend = number(key, val);
                default -> throw new IllegalArgumentException("unknown " + kind + " parameter '" + key + "'");
            }
        }
        if (devid < 0) throw new IllegalArgumentException(kind + " spec '" + spec + "' has no id");
        return new DeviceSpec(kind, devid, backend);
    }

    private static int number(String key, String val) {
        try {
            return Integer.parseInt(val);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, not '" + val + "'");
        }
    }
}
