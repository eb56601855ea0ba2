package org.jxen.drivers.blk;

import java.lang.foreign.MemorySegment;

/**
 * What blkback drives: a disk of 512-byte sectors. A vectored transfer moves consecutive disk sectors from
 * or into a list of buffers (one per blkif segment), which is how a request's segments are coalesced into
 * one system call. Callers validate ranges and read-only first; implementations check again and throw
 * {@link DiskException} rather than touching bytes outside the disk.
 */
public interface BlockDevice extends AutoCloseable {
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
    default boolean inRange(long sector, long count) {
        long size = sectors();
        return Long.compareUnsigned(sector, size) <= 0 && Long.compareUnsigned(count, size - sector) <= 0;
    }
}
