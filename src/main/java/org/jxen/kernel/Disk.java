package org.jxen.kernel;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

/**
 * A block device as the guest's block layer sees it (Linux's gendisk): what a block frontend registers with
 * {@link Disks} once it is connected, and what the guest's utilities ({@code dd}, {@code sha256sum},
 * {@code blkbench}) open as {@code /dev/NAME}. Sector numbers are in 512-byte units whatever the device's
 * {@link #sectorSize()}; transfers are whole sectors.
 */
public interface Disk {
    /** The device's name, e.g. {@code xvda}. */
    String name();

    /** Its minor number under the xvd major (202), as Linux's blkfront numbers it: xvda 0, xvdb 16, xvda1 1. */
    int minor();

    /** Size in 512-byte sectors. */
    long sectors();

    /** The device's logical sector size in bytes. */
    int sectorSize();

    boolean readOnly();

    /** Whether {@link #flush} reaches stable storage (a device without a write cache has nothing to flush). */
    boolean flushSupported();

    boolean discardSupported();

    /** Hardware queues the device uses. */
    int queues();

    /** Requests the device holds at once over all its queues. */
    int queueDepth();

    /** Reads {@code len} bytes (whole sectors) from {@code sector} into {@code buf[off..]}. */
    CompletableFuture<Void> read(long sector, byte[] buf, int off, int len);

    /** Writes {@code buf[off..off+len)} (whole sectors) at {@code sector}. */
    CompletableFuture<Void> write(long sector, byte[] buf, int off, int len);

    /** As {@link #read(long, byte[], int, int)}, ending with {@code endIo} instead of a future. */
    void read(long sector, byte[] buf, int off, int len, EndIo endIo);

    /** As {@link #write(long, byte[], int, int)}, ending with {@code endIo} instead of a future. */
    void write(long sector, byte[] buf, int off, int len, EndIo endIo);

    /** Reads {@code count} sectors without copying: the data is lent to {@code reader} where it lies. */
    CompletableFuture<Void> readShared(long sector, int count, SectorReader reader);

    /** Makes every completed write durable. */
    CompletableFuture<Void> flush();

    /** Discards {@code count} sectors from {@code sector}. */
    CompletableFuture<Void> discard(long sector, long count);

    /**
     * Called once when a request submitted with it ends (Linux's bio end_io): {@code failure} is null on success.
     * It runs on the thread that ends the request, like an interrupt handler, so it must not block; it may
     * submit new requests.
     */
    @FunctionalInterface
    interface EndIo {
        void ended(Throwable failure);
    }

    /**
     * Receives the data of a {@link #readShared}: once per run of consecutive data with the run's byte offset
     * within the read and a read-only view valid only during the call.
     */
    @FunctionalInterface
    interface SectorReader {
        void accept(long offset, MemorySegment data);
    }
}
