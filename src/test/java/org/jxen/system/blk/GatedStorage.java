package org.jxen.system.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jxen.drivers.blk.back.BlockDevice;
import org.jxen.drivers.blk.back.DiskException;

/**
 * blkback's storage for tests: what {@link BlockDevice#open} opens, behind a gate. While the gate is closed,
 * every read, write, flush and discard waits for it (a disk that hangs), for at most {@link #MAX_STALL_SECONDS};
 * so blkback's queue workers serve nothing the frontend puts on the rings until the gate opens.
 */
final class GatedStorage implements BlockDevice.Opener {
    static final long MAX_STALL_SECONDS = 60;

    private volatile CountDownLatch gate;

    @Override
    public BlockDevice open(String path, boolean readOnly) throws IOException {
        return new Gated(BlockDevice.open(path, readOnly));
    }

    /** From now on the disks' operations wait until {@link #open()}. */
    void close() {
        gate = new CountDownLatch(1);
    }

    /** Lets waiting and later operations through. */
    void open() {
        CountDownLatch g = gate;
        gate = null;
        if (g != null) g.countDown();
    }

    private void pass() {
        CountDownLatch g = gate;
        if (g == null) return;
        try {
            g.await(MAX_STALL_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private final class Gated implements BlockDevice {
        private final BlockDevice disk;

        Gated(BlockDevice disk) {
            this.disk = disk;
        }

        @Override
        public long sectors() {
            return disk.sectors();
        }

        @Override
        public boolean readOnly() {
            return disk.readOnly();
        }

        @Override
        public boolean discardSupported() {
            return disk.discardSupported();
        }

        @Override
        public void read(long sector, MemorySegment[] bufs, int count) throws DiskException {
            pass();
            disk.read(sector, bufs, count);
        }

        @Override
        public void write(long sector, MemorySegment[] bufs, int count) throws DiskException {
            pass();
            disk.write(sector, bufs, count);
        }

        @Override
        public void flush() throws DiskException {
            pass();
            disk.flush();
        }

        @Override
        public void discard(long sector, long count) throws DiskException {
            pass();
            disk.discard(sector, count);
        }

        @Override
        public void close() {
            disk.close();
        }
    }
}
