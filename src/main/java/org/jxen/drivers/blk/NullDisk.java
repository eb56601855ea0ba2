package org.jxen.drivers.blk;

import java.lang.foreign.MemorySegment;

/**
 * /dev/null with a size: reads return zeros, writes, flushes and discards succeed and do nothing. For measuring
 * the ring and grant path without storage, as Linux's null_blk is used for blkback benchmarks.
 */
public final class NullDisk implements BlockDevice {
    private final long sectors;

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
        if (!inRange(sector, count)) throw new DiskException(DiskException.EINVAL, "outside the null disk");
    }
}
