package org.jxen.drivers.blk.back;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * What blkback drives: a disk of 512-byte sectors. A vectored transfer moves consecutive disk sectors from
 * or into a list of buffers (one per blkif segment), which is how a request's segments are coalesced into
 * one system call. Callers validate ranges and read-only first; implementations check again and throw
 * {@link DiskException} rather than touching bytes outside the disk.
 *
 * <p>blkback opens one per vbd through its {@link Opener} (as Linux blkback opens whatever block device the
 * hotplug script named), so any storage with these operations can stand behind a guest's disk.
 */
public interface BlockDevice extends AutoCloseable {
    /** How blkback opens the storage the hotplug script named in {@code physical-device-path}. */
    @FunctionalInterface
    interface Opener {
        /** Opens {@code path}; {@code readOnly} for a disk the guest may only read (xl's access=r). */
        BlockDevice open(String path, boolean readOnly) throws IOException;
    }

    /**
     * blkback's default {@link Opener}: an image file or block device, or (jxen's extension for tests and
     * benchmarks) {@code null:SIZE}, a {@link NullDisk} of SIZE bytes (suffix K, M, G, T: powers of 1024).
     */
    static BlockDevice open(String path, boolean readOnly) throws IOException {
        if (path.startsWith(NullDisk.PREFIX)) {
            try {
                return NullDisk.parse(path);
            } catch (IllegalArgumentException e) {
                throw new IOException(e.getMessage());
            }
        }
        return DiskImage.open(Path.of(path), readOnly);
    }

    /** Size in 512-byte sectors (the backend's "sectors" node). */
    long sectors();

    boolean readOnly();

    /** Whether discard can work at all (the backend's "feature-discard"); it may still fail with EOPNOTSUPP. */
    boolean discardSupported();

    /** Reads sectors starting at {@code sector} into {@code bufs[0..count)}, in order; sizes are multiples of 512. */
    void read(long sector, MemorySegment[] bufs, int count) throws DiskException;

    /** Writes {@code bufs[0..count)} to consecutive sectors starting at {@code sector}. */
    void write(long sector, MemorySegment[] bufs, int count) throws DiskException;

    /** Makes every completed write durable (fsync). */
    void flush() throws DiskException;

    /** Deallocates {@code count} sectors; they read back as zeros. EOPNOTSUPP if the storage cannot. */
    void discard(long sector, long count) throws DiskException;

    @Override
    void close();

    default void read(long sector, MemorySegment buf) throws DiskException {
        read(sector, new MemorySegment[] {buf}, 1);
    }

    default void write(long sector, MemorySegment buf) throws DiskException {
        write(sector, new MemorySegment[] {buf}, 1);
    }

    /** True if [sector, sector + count) lies inside the disk, with unsigned 64-bit blkif sector numbers. */
    /** Re-reads the size after the storage was resized; storage of a fixed size returns {@link #sectors()}. */
    default long refreshSectors() throws DiskException {
        return sectors();
    }

    default boolean inRange(long sector, long count) {
        long size = sectors();
        return Long.compareUnsigned(sector, size) <= 0 && Long.compareUnsigned(count, size - sector) <= 0;
    }
}
