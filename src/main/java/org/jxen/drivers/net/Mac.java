package org.jxen.drivers.net;

import java.util.HexFormat;

/** Ethernet addresses in the store's form "xx:xx:xx:xx:xx:xx" (netback's and netfront's xen_net_read_mac). */
public final class Mac {
    private Mac() {}

    /** The 6 bytes, or IllegalArgumentException for anything but six two-digit hex fields. */
    public static byte[] parse(String s) {
        String[] parts = s.strip().split(":", -1);
        if (parts.length != 6) throw new IllegalArgumentException("bad MAC address " + s);
        byte[] mac = new byte[6];
        for (int i = 0; i < 6; i++) {
            if (!parts[i].matches("[0-9a-fA-F]{2}")) throw new IllegalArgumentException("bad MAC address " + s);
            mac[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return mac;
    }

    public static String format(byte[] mac) {
        return HexFormat.ofDelimiter(":").formatHex(mac);
    }
}
