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

    /** How the guest names a device (xvda, xvdf1) and its minor under major 202, as Linux's blkfront does. */
    public record GuestName(String name, int minor) {}

    private static final int IDE0_MAJOR = 3, IDE1_MAJOR = 22, SCSI_DISK0_MAJOR = 8;
    /** The SCSI majors after sd's first 16 disks: 65..71 are disks 16..127, 128..135 disks 128..255. */
    private static final int SCSI_DISK1_MAJOR = 65, SCSI_DISK7_MAJOR = 71, SCSI_DISK8_MAJOR = 128, SCSI_DISK15_MAJOR = 135;
    private static final int PARTS_PER_DISK = 16, PARTS_PER_EXT_DISK = 256;

    /**
     * blkfront's xlvbd_alloc_gendisk and xen_translate_vdev as Linux has them since 2010 (EMULATED_*_OFFSET 0):
     * xvd numbers as they are; the emulated aliases onto the same xvd names, hda..hdd as xvda..xvdd (whole disks
     * only: an hd partition number names its disk) and sdX as xvdX (partitions kept), so that 768 (hda) and 2048
     * (sda) are both xvda, minor 0, and 2064 (sdb) is xvdb, minor 16. A partition's number names the partition
     * (51713 = xvda1). Null for a number Linux refuses (another major, above the extended range).
     */
    public static GuestName guestName(int devid) {
        if ((devid >>> 28) > 1) return null;
        int minor;
        int offset;
        int parts;
        if ((devid & EXTENDED) == 0) {
            int major = devid >>> 8;
            minor = devid & 0xff;
            switch (major) {
                case IDE0_MAJOR -> {
                    offset = minor / 64;
                    minor = (minor / 64) * PARTS_PER_DISK;
                }
                case IDE1_MAJOR -> {
                    offset = minor / 64 + 2;
                    minor = (minor / 64 + 2) * PARTS_PER_DISK;
                }
                case SCSI_DISK0_MAJOR -> offset = minor / PARTS_PER_DISK;
                case XVD_MAJOR -> offset = minor / PARTS_PER_DISK;
                default -> {
                    int group;
                    if (major >= SCSI_DISK1_MAJOR && major <= SCSI_DISK7_MAJOR) group = major - SCSI_DISK1_MAJOR + 1;
                    else if (major >= SCSI_DISK8_MAJOR && major <= SCSI_DISK15_MAJOR) group = major - SCSI_DISK8_MAJOR + 8;
                    else return null;
                    offset = minor / PARTS_PER_DISK + group * 16;
                    minor = minor + group * 16 * PARTS_PER_DISK;
                }
            }
            parts = PARTS_PER_DISK;
        } else {
            minor = devid & ~EXTENDED;
            parts = PARTS_PER_EXT_DISK;
            offset = minor / parts;
        }
        if ((minor >>> 20) != 0) return null; // MINORBITS
        int part = minor % parts;
        return new GuestName("xvd" + letters(offset) + (part == 0 ? "" : Integer.toString(part)), minor);
    }

    /** The guest's name for device number {@code devid} (51712 = xvda, 51713 = xvda1, 768 = xvda); else the number. */
    public static String name(int devid) {
        GuestName g = guestName(devid);
        return g == null ? Integer.toString(devid) : g.name();
    }

    /** 0 = a, 25 = z, 26 = aa, ... (Linux's xlbd_alloc_gendisk naming). */
    private static String letters(int n) {
        StringBuilder sb = new StringBuilder();
        int d = n + 1;
        while (d > 0) {
            d--;
            sb.insert(0, (char) ('a' + d % 26));
            d /= 26;
        }
        return sb.toString();
    }
}
