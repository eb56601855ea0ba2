package org.jxen.system.blk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.front.BlkFront;
import org.jxen.kernel.Disk;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.StandardKernel;

/**
 * A guest that loads blkfront and writes to xvda until it is killed. The disk is cut into {@link #BLOCK}-byte
 * slots; write n (counting from 0) puts {@link #block}(n) into slot n mod slots, so the image says which write
 * each of its sectors came from. {@link #DEPTH} writes are in flight: write n goes out once write n - DEPTH has
 * completed, so two writes to one slot are never in flight together. {@code data/blkwriter} = running says the
 * first write was acknowledged; {@code data/blkwriter-acked} = n, written every 16 writes, says that writes
 * 0..n-1 all were (it is written after they completed, so it never claims too much).
 */
public final class BlkWriterKernel extends StandardKernel {
    /** 64 KiB: 16 pages, one ring request (blkfront splits only beyond 256 segments). */
    static final int BLOCK = 64 * 1024;
    static final int DEPTH = 32;
    private static final byte[] MAGIC = "jxenblkw".getBytes(StandardCharsets.US_ASCII);

    @Override
    protected void run(Kernel kernel, String[] args) throws Exception {
        kernel.load(new BlkFront());
        Disk d = kernel.disks().await("xvda").get(60, TimeUnit.SECONDS);
        long slots = d.sectors() * Blkif.SECTOR_SIZE / BLOCK;
        ArrayDeque<CompletableFuture<Void>> inflight = new ArrayDeque<>();
        for (long n = 0; ; n++) {
            if (n >= DEPTH) {
                inflight.poll().get(60, TimeUnit.SECONDS); // write n - DEPTH, and so all before it
                long acked = n - DEPTH + 1;
                if (acked == 1) kernel.xenstore().write("data/blkwriter", "running");
                if (acked % 16 == 0) kernel.xenstore().write("data/blkwriter-acked", Long.toString(acked));
            }
            inflight.add(d.write(n % slots * (BLOCK / Blkif.SECTOR_SIZE), block(n), 0, BLOCK));
        }
    }

    /**
     * The bytes of write n: every sector starts with a header (magic, n, the sector's index in the block) and
     * the rest is pseudo-random from n.
     */
    static byte[] block(long n) {
        byte[] b = new byte[BLOCK];
        new Random(0x6a78656eL << 32 ^ n).nextBytes(b);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        for (int s = 0; s < BLOCK / Blkif.SECTOR_SIZE; s++) {
            int at = s * Blkif.SECTOR_SIZE;
            bb.put(at, MAGIC);
            bb.putLong(at + 8, n);
            bb.putInt(at + 16, s);
        }
        return b;
    }

    /** The write whose header the sector at {@code off} of {@code b} carries, or -1 if it carries none. */
    static long writeOf(byte[] b, int off) {
        if (!Arrays.equals(b, off, off + MAGIC.length, MAGIC, 0, MAGIC.length)) return -1;
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(off + 8);
    }
}
