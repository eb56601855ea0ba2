package org.jxen.drivers.blk.front;

import java.util.concurrent.CompletableFuture;
import org.jxen.drivers.blk.Blkif;
import org.jxen.kernel.Disk;

/**
 * One block request as it waits in the software queue and sits on a ring: a read or write of {@code nsect}
 * sectors to or from {@code buf[off..]} (or, a shared read, lent to {@code reader} with the data at byte
 * {@code off} of the whole read), a flush, or a discard of {@code nsect} sectors. {@code done} is its own
 * future, completed on the thread that ends the request.
 */
final class Request {
    final int op;
    final long sector;
    final long nsect;
    final byte[] buf;
    final Disk.SectorReader reader;
    final long off;
    final CompletableFuture<Void> done = new CompletableFuture<>();

    private Request(int op, long sector, long nsect, byte[] buf, Disk.SectorReader reader, long off) {
        this.op = op;
        this.sector = sector;
        this.nsect = nsect;
        this.buf = buf;
        this.reader = reader;
        this.off = off;
    }

    /** A read or write of {@code len} bytes (whole sectors) at {@code buf[off..]}. */
    static Request rw(int op, long sector, byte[] buf, int off, int len) {
        return new Request(op, sector, len / Blkif.SECTOR_SIZE, buf, null, off);
    }

    /** A read of {@code count} sectors whose data is lent to {@code reader}. */
    static Request shared(long sector, int count, Disk.SectorReader reader) {
        return new Request(Blkif.OP_READ, sector, count, null, reader, 0);
    }

    static Request flush() {
        return new Request(Blkif.OP_FLUSH_DISKCACHE, 0, 0, null, null, 0);
    }

    static Request discard(long sector, long count) {
        return new Request(Blkif.OP_DISCARD, sector, count, null, null, 0);
    }

    /** Part of this read or write: {@code n} sectors from sector {@code skip} of it, with its own future. */
    Request part(long skip, long n) {
        return new Request(op, sector + skip, n, buf, reader, off + skip * Blkif.SECTOR_SIZE);
    }

    boolean movesData() {
        return op == Blkif.OP_READ || op == Blkif.OP_WRITE;
    }

    /** Pages of data it moves: full pages but the last, which holds the remaining 1..8 sectors. */
    int dataPages() {
        return movesData() ? (int) ((nsect + Blkif.SECTORS_PER_PAGE - 1) / Blkif.SECTORS_PER_PAGE) : 0;
    }
}
