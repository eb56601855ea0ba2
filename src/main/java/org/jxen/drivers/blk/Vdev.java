package org.jxen.drivers.blk;

/**
 * Virtual device names and numbers (xen/docs/misc/vbd-interface.txt): {@code xvdX} is
 * {@code (202 << 8) | (disk << 4) | partition} for disks 0..15, {@code (1 << 28) | (disk << 8) | partition}
 * beyond; {@code hdX} (3/22 << 8) and {@code sdX} (8 << 8) are the emulated-disk aliases. Also accepted:
 * {@code d<disk>[p<partition>]} and a plain number.
 */
public final class Vdev {
    private static final int XVD_MAJOR = 202;
    private static final int EXTENDED = 1 << 28;

    private Vdev() {}

    /** The device number of {@code vdev} (xvda = 51712), or IllegalArgumentException. */
    public static int devid(String vdev) {
        String v = vdev.strip();
        if (v.matches("[0-9]+")) return Integer.parseInt(v);
        java.util.regex.Matcher m;
        if ((m = java.util.regex.Pattern.compile("d([0-9]+)(?:p([0-9]+))?").matcher(v)).matches()) {
            int disk = Integer.parseInt(m.group(1));
            int part = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
            return encode(disk, part, v);
        }
        if ((m = java.util.regex.Pattern.compile("(xvd|hd|sd)([a-z]+)([0-9]*)").matcher(v)).matches()) {
            int disk = letters(m.group(2));
            int part = m.group(3).isEmpty() ? 0 : Integer.parseInt(m.group(3));
            switch (m.group(1)) {
                case "xvd" -> {
                    return encode(disk, part, v);
                }
                case "hd" -> {
                    if (disk > 3 || part > 63) throw new IllegalArgumentException("invalid vdev " + vdev);
                    return ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | part;
                }
                default -> {
                    if (disk > 15 || part > 15) throw new IllegalArgumentException("invalid vdev " + vdev);
                    return (8 << 8) | (disk << 4) | part;
                }
            }
        }
        throw new IllegalArgumentException("invalid vdev " + vdev);
    }

    private static int encode(int disk, int part, String v) {
        if (disk < 16 && part < 16) return (XVD_MAJOR << 8) | (disk << 4) | part;
        if (disk < (1 << 20) && part < 256) return EXTENDED | (disk << 8) | part;
        throw new IllegalArgumentException("invalid vdev " + v);
    }

    /** a=0 .. z=25, aa=26, ... (bijective base 26). */
    private static int letters(String s) {
        int n = 0;
        for (char c : s.toCharArray()) n = n * 26 + (c - 'a' + 1);
        return n - 1;
    }

    /** The guest's name for device number {@code devid} (51712 = xvda, 51713 = xvda1); else the number. */
    public static String name(int devid) {
        int disk;
        int part;
        if ((devid & EXTENDED) != 0) {
            disk = (devid >>> 8) & 0xfffff;
            part = devid & 0xff;
        } else if ((devid >>> 8) == XVD_MAJOR) {
            disk = (devid >>> 4) & 0xf;
            part = devid & 0xf;
        } else {
            return Integer.toString(devid);
        }
        StringBuilder sb = new StringBuilder();
        int d = disk + 1;
        while (d > 0) {
            d--;
            sb.insert(0, (char) ('a' + d % 26));
            d /= 26;
        }
        return "xvd" + sb + (part == 0 ? "" : Integer.toString(part));
    }
}
