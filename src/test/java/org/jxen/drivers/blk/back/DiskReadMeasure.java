package org.jxen.drivers.blk.back;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * Not a test: {@code java -cp target/classes:target/test-classes org.jxen.drivers.blk.back.DiskReadMeasure FILE} compares
 * FileChannel (direct buffer over a MemorySegment), a mapped window and DiskImage's FFM pread on a page-cache
 * resident image: 4 KiB random reads and 1 MiB sequential reads. The numbers in docs/blk.md come from it.
 */
public final class DiskReadMeasure {
    private static final int RANDOM_OPS = 400_000;
    private static final int SEQ_PASSES = 8;

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        long size = 256L << 20;
        if (!Files.exists(file) || Files.size(file) != size) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
                SplittableRandom r = new SplittableRandom(1);
                for (long off = 0; off < size; off += b.capacity()) {
                    b.clear();
                    while (b.hasRemaining()) b.putLong(r.nextLong());
                    b.flip();
                    ch.write(b, off);
                }
            }
        }
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file);
                DiskImage disk = DiskImage.open(file, true)) {
            MemorySegment map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            MemorySegment buf = arena.allocate(1 << 20, 4096);
            for (int round = 0; round < 3; round++) { // the first rounds warm the page cache and the JIT
                boolean print = round == 2;
                report(print, "4KiB random  FileChannel", RANDOM_OPS, 4096, () -> randomFc(ch, buf, size));
                report(print, "4KiB random  mmap       ", RANDOM_OPS, 4096, () -> randomMap(map, buf, size));
                report(print, "4KiB random  FFM pread  ", RANDOM_OPS, 4096, () -> randomFfm(disk, buf, size));
                long seqOps = SEQ_PASSES * (size >> 20);
                report(print, "1MiB seq     FileChannel", seqOps, 1 << 20, () -> seqFc(ch, buf, size));
                report(print, "1MiB seq     mmap       ", seqOps, 1 << 20, () -> seqMap(map, buf, size));
                report(print, "1MiB seq     FFM pread  ", seqOps, 1 << 20, () -> seqFfm(disk, buf, size));
            }
        }
    }

    interface Body {
        void run() throws Exception;
    }

    private static void report(boolean print, String what, long ops, int bytes, Body body) throws Exception {
        long t0 = System.nanoTime();
        body.run();
        long ns = System.nanoTime() - t0;
        if (print) {
            System.out.printf("%s  %8.0f ns/op  %9.0f ops/s  %7.0f MiB/s%n", what, (double) ns / ops,
                    ops * 1e9 / ns, ops * (double) bytes * 1e9 / ns / (1 << 20));
        }
    }

    private static void randomFc(FileChannel ch, MemorySegment buf, long size) throws Exception {
        ByteBuffer bb = buf.asSlice(0, 4096).asByteBuffer();
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < RANDOM_OPS; i++) {
            bb.clear();
            ch.read(bb, r.nextLong(size >> 12) << 12);
        }
    }

    private static void randomMap(MemorySegment map, MemorySegment buf, long size) {
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < RANDOM_OPS; i++) MemorySegment.copy(map, r.nextLong(size >> 12) << 12, buf, 0, 4096);
    }

    private static void randomFfm(DiskImage d, MemorySegment buf, long size) throws Exception {
        MemorySegment b = buf.asSlice(0, 4096);
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < RANDOM_OPS; i++) d.read(r.nextLong(size >> 12) << 3, b);
    }

    private static void seqFc(FileChannel ch, MemorySegment buf, long size) throws Exception {
        ByteBuffer bb = buf.asByteBuffer();
        for (int p = 0; p < SEQ_PASSES; p++) {
            for (long off = 0; off < size; off += 1 << 20) {
                bb.clear();
                while (bb.hasRemaining()) ch.read(bb, off + bb.position());
            }
        }
    }

    private static void seqMap(MemorySegment map, MemorySegment buf, long size) {
        for (int p = 0; p < SEQ_PASSES; p++) {
            for (long off = 0; off < size; off += 1 << 20) MemorySegment.copy(map, off, buf, 0, 1 << 20);
        }
    }

    private static void seqFfm(DiskImage d, MemorySegment buf, long size) throws Exception {
        for (int p = 0; p < SEQ_PASSES; p++) {
            for (long off = 0; off < size; off += 1 << 20) d.read(off >> 9, buf);
        }
    }
}
