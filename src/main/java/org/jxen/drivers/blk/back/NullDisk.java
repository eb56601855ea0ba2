package org.jxen.drivers.blk.back;

import java.lang.foreign.MemorySegment;
import org.jxen.drivers.blk.Blkif;
import org.jxen.hypervisor.Errno;

/**
 * /dev/null with a size: reads return zeros, writes, flushes and discards succeed and do nothing. For measuring
 * the ring and grant path without storage, as Linux's null_blk is used for blkback benchmarks.
 */
public final class NullDisk implements BlockDevice {
    /** The target prefix of a null disk: {@code null:SIZE} (jxen's extension, see {@link #parse}). */
    public static final String PREFIX = "null:";

    private final long sectors;

    /**
     * {@code null:SIZE}: SIZE in bytes with an optional K, M, G or T suffix (powers of 1024), a positive multiple
     * of 512.
     */
    public static NullDisk parse(String target) {
        if (!target.startsWith(PREFIX)) throw new IllegalArgumentException("not a null disk: " + target);
        long bytes = parseSize(target.substring(PREFIX.length()));
        if (bytes <= 0 || bytes % Blkif.SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("null disk size must be a positive multiple of 512: " + target);
        }
        return new NullDisk(bytes / Blkif.SECTOR_SIZE);
    }

    static long parseSize(String s) {
        if (s.isEmpty()) throw new IllegalArgumentException("empty size");
        long mult = switch (Character.toUpperCase(s.charAt(s.length() - 1))) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            case 'T' -> 1L << 40;
            default -> 1;
        };
        String num = mult == 1 ? s : s.substring(0, s.length() - 1);
        try {
            return Math.multiplyExact(Long.parseLong(num), mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("bad size '" + s + "'");
        }
    }

    public NullDisk(long sectors) {
        this.sectors = sectors;
    }

    @Override
    public long sectors() {
        return sectors;
    }

    @Override
    public boolean readOnly() {
        return false;
    }

    @Override
    public boolean discardSupported() {
        return true;
    }

    @Override
    public void read(long sector, MemorySegment[] bufs, int count) throws DiskException {
        long bytes = 0;
        for (int i = 0; i < count; i++) bytes += bufs[i].byteSize();
        check(sector, bytes >>> Blkif.SECTOR_SHIFT);
        for (int i = 0; i < count; i++) bufs[i].fill((byte) 0);
    }

    @Override
    public void write(long sector, MemorySegment[] bufs, int count) throws DiskException {
        long bytes = 0;
        for (int i = 0; i < count; i++) bytes += bufs[i].byteSize();
        check(sector, bytes >>> Blkif.SECTOR_SHIFT);
    }

    @Override
    public void flush() {
    }

    @Override
    public void discard(long sector, long count) throws DiskException {
        check(sector, count);
    }

    @Override
    public void close() {
    }

    private void check(long sector, long count) throws DiskException {
        if (!inRange(sector, count)) throw new DiskException(Errno.EINVAL, "outside the null disk");
    }
}
