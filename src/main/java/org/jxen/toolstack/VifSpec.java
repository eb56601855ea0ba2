package org.jxen.toolstack;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An xl network spec (xl-network-configuration(5)): comma-separated {@code key=value}, the subset jxen's netback
 * serves: {@code mac} (default: random with Xen's OUI 00:16:3e, libxl__device_nic_setdefault), {@code bridge}
 * (default xenbr0), {@code script} (default vif-bridge, a bare name taken from the scripts directory), {@code ip},
 * {@code mtu} (default 1500), {@code devid}, {@code backend}, {@code type} (vif), {@code vifname}, {@code rate}
 * ({@link VifRate}), and the flags
 * {@code trusted}/{@code untrusted}.
 *
 * <p>{@link #device(int)} is libxl__set_xenstore_nic: backend {@code script}, {@code mac}, {@code bridge},
 * {@code handle}, {@code type}, {@code ip}, {@code vifname} and {@code rate} when given, {@code mtu} when not 1500 and
 * {@code hotplug-status = ""} (the backend waits for the script); frontend {@code handle}, {@code mac},
 * {@code trusted} and {@code mtu}.
 */
public record VifSpec(String mac, String bridge, String script, String ip, int mtu, int devid, int backendDomid,
        String vifname, boolean trusted, VifRate rate) {
    public static final String DEFAULT_BRIDGE = "xenbr0";
    public static final String DEFAULT_SCRIPT = "vif-bridge";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Parses {@code spec}; {@code devid} is the default id (the index in the config's list), -1 for "next free". */
    public static VifSpec parse(String spec, int devid) {
        String mac = null;
        String bridge = DEFAULT_BRIDGE;
        String script = DEFAULT_SCRIPT;
        String ip = null;
        String vifname = null;
        int mtu = 1500;
        int backend = 0;
        boolean trusted = true;
        VifRate rate = null;
        for (String part : spec.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) continue;
            int eq = p.indexOf('=');
            String key = eq < 0 ? p : p.substring(0, eq).strip();
            String val = eq < 0 ? "" : p.substring(eq + 1).strip();
            switch (key) {
                case "mac" -> mac = checkMac(val);
                case "bridge" -> bridge = val;
                case "script" -> script = val;
                case "ip" -> ip = val;
                case "vifname" -> vifname = val;
                case "mtu" -> mtu = number(key, val);
                case "devid" -> devid = number(key, val);
                case "backend" -> backend = number(key, val);
                case "type" -> {
                    if (!val.equals("vif")) throw new IllegalArgumentException("type " + val + " is not supported (only vif)");
                }
                case "rate" -> rate = VifRate.parse(val);
                case "model", "gatewaydev", "vlan" -> { } // accepted; nothing in jxen's netback uses them
                case "trusted" -> trusted = true;
                case "untrusted" -> trusted = false;
                // xl's parse_nic_config, word for word.
                default -> throw new IllegalArgumentException("unrecognized argument `" + p + "'");
            }
        }
        if (mtu < 68 || mtu > 65535) throw new IllegalArgumentException("invalid mtu " + mtu);
        if (mac == null) mac = randomMac();
        return new VifSpec(mac, bridge, script, ip, mtu, devid, backend, vifname, trusted, rate);
    }

    /** libxl__device_nic_setdefault: 00:16:3e and three random bytes, the first of them below 0x80. */
    public static String randomMac() {
        byte[] r = new byte[3];
        RANDOM.nextBytes(r);
        return String.format("00:16:3e:%02x:%02x:%02x", r[0] & 0x7f, r[1] & 0xff, r[2] & 0xff);
    }

    private static String checkMac(String v) {
        if (!v.matches("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")) throw new IllegalArgumentException("invalid mac address '" + v + "'");
        return v.toLowerCase();
    }

    private static int number(String key, String val) {
        try {
            return Integer.parseInt(val);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, not '" + val + "'");
        }
    }

    /** The vif device libxl adds for this spec, with id {@code devid} if the spec named none. */
    public DeviceSpec device(int defaultDevid) {
        int id = devid >= 0 ? devid : defaultDevid;
        Map<String, String> be = new LinkedHashMap<>();
        be.put("script", scriptPath(script));
        be.put("mac", mac);
        be.put("bridge", bridge);
        be.put("handle", Integer.toString(id));
        be.put("type", "vif");
        if (ip != null) be.put("ip", ip);
        if (vifname != null) be.put("vifname", vifname);
        if (rate != null) be.put("rate", rate.xenstoreValue());
        if (mtu != 1500) be.put("mtu", Integer.toString(mtu));
        be.put("hotplug-status", "");
        Map<String, String> fe = new LinkedHashMap<>();
        fe.put("handle", Integer.toString(id));
        fe.put("mac", mac);
        fe.put("trusted", trusted ? "1" : "0");
        fe.put("mtu", Integer.toString(mtu));
        return new DeviceSpec("vif", id, backendDomid, be, fe);
    }

    /** A bare script name lives in the scripts directory ({@code scripts/hotplug} of jxen; libxl: XEN_SCRIPT_DIR). */
    static String scriptPath(String script) {
        if (script.contains("/")) return script;
        Path dir = DiskSpec.blockScript() == null ? null : DiskSpec.blockScript().getParent();
        if (dir != null && Files.isExecutable(dir.resolve(script))) return dir.resolve(script).toString();
        return Path.of("/etc/xen/scripts").resolve(script).toString();
    }
}
