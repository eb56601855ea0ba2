package org.jxen.kernel.userland;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jxen.kernel.Disk;
import org.jxen.kernel.Kernel;

/**
 * {@code blkbench /dev/xvdX --rw randread|randwrite|read|write --bs 4k --qd 32 --seconds N [--warmup S] [--zero-copy]}: keeps
 * qd requests of bs bytes in flight on the disk (each completion submits the next one), first for the warm-up,
 * then for the measured window. Random offsets are bs-aligned over the whole disk; sequential ones wrap around.
 * Prints one line of key=value pairs (what {@code jxen bench block} parses):
 * {@code blkbench: /dev/xvda rw=randread bs=4096 qd=32 queues=2 seconds=2.000 ops=N iops=N mbps=N p50_us=N p99_us=N errors=N}.
 * Latency is submit to completion, in a log-linear histogram (about 3% precision).
 *
 * <p>Reads are copied out into byte arrays ({@link Disk#read(long, byte[], int, int)}); with
 * {@code --zero-copy} they use {@link Disk#readShared} instead and leave the data in the pool pages blkback
 * read it into, as the floor leaves its buffer. The line then says {@code zero_copy=1}.
 */
final class BlkBench {
    private BlkBench() {}

    static int run(Kernel kernel, List<String> args, PrintStream out, PrintStream err) {
        String dev = null, rw = "randread";
        long bs = 4096;
        int qd = 32;
        double seconds = 5, warmup = 1;
        boolean zeroCopy = false;
        try {
            for (int i = 0; i < args.size(); i++) {
                String a = args.get(i);
                if (!a.startsWith("--")) {
                    if (dev != null) throw new IllegalArgumentException("one device only: " + a);
                    dev = a;
                    continue;
                }
                if (a.equals("--zero-copy")) {
                    zeroCopy = true;
                    continue;
                }
                if (i + 1 >= args.size()) throw new IllegalArgumentException(a + " needs a value");
                String v = args.get(++i);
                switch (a) {
                    case "--rw" -> rw = v;
                    case "--bs" -> bs = Utilities.size(v);
                    case "--qd" -> qd = Integer.parseInt(v);
                    case "--seconds" -> seconds = Double.parseDouble(v);
                    case "--warmup" -> warmup = Double.parseDouble(v);
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (dev == null || !Dev.isDisk(dev)) throw new IllegalArgumentException("a /dev/xvdX device is required");
            if (!List.of("randread", "randwrite", "read", "write").contains(rw)) {
                throw new IllegalArgumentException("--rw must be randread, randwrite, read or write");
            }
            if (bs <= 0 || bs % 512 != 0 || bs > (64 << 20)) throw new IllegalArgumentException("--bs must be a multiple of 512 up to 64M");
            if (qd < 1 || qd > 4096) throw new IllegalArgumentException("--qd must be 1..4096");
            if (!(seconds > 0) || warmup < 0) throw new IllegalArgumentException("--seconds must be positive");
        } catch (NumberFormatException e) {
            err.println("blkbench: bad number: " + e.getMessage());
            return 2;
        } catch (IllegalArgumentException e) {
            err.println("blkbench: " + e.getMessage());
            err.println("usage: blkbench /dev/xvdX --rw randread|randwrite|read|write --bs 4k --qd 32 --seconds N [--warmup S] [--zero-copy]");
            return 2;
        }
        Disk bf;
        try {
            bf = Dev.disk(kernel, dev.substring(Dev.DEV_PREFIX.length()));
        } catch (IOException e) {
            err.println("blkbench: " + dev + ": " + e.getMessage());
            return 1;
        }
        boolean write = rw.endsWith("write");
        if (write && bf.readOnly()) {
            err.println("blkbench: " + dev + ": read-only disk");
            return 1;
        }
        long blocks = bf.sectors() * 512 / bs;
        if (blocks == 0) {
            err.println("blkbench: " + dev + " is smaller than --bs");
            return 1;
        }
        Run r = new Run(bf, rw.startsWith("rand"), write, zeroCopy && !write, (int) bs, qd, blocks);
        try {
            r.go(warmup, seconds);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
        double s = r.elapsedNs / 1e9;
        long ops = r.ops.sum();
        out.println(String.format(Locale.ROOT,
                "blkbench: %s rw=%s bs=%d qd=%d queues=%d zero_copy=%d seconds=%.3f ops=%d iops=%.0f mbps=%.1f p50_us=%.1f p99_us=%.1f errors=%d",
                dev, rw, bs, qd, bf.queues(), zeroCopy && !write ? 1 : 0, s, ops, ops / s, ops * bs / 1e6 / s, r.hist.percentile(0.50) / 1e3,
                r.hist.percentile(0.99) / 1e3, r.errors.sum()));
        if (r.firstError != null) err.println("blkbench: first error: " + r.firstError);
        return r.errors.sum() == 0 ? 0 : 1;
    }

    private static final class Run {
        final Disk bf;
        final boolean random, write, zeroCopy;
        final int bs, qd, ss;
        final long blocks;
        final AtomicLong cursor = new AtomicLong();
        final LongAdder ops = new LongAdder(), errors = new LongAdder();
        final Histogram hist = new Histogram();
        final byte[][] bufs;
        final ExecutorService trampoline = Executors.newSingleThreadExecutor(
                r -> Thread.ofPlatform().daemon().name("blkbench-submit").unstarted(r));
        final ThreadLocal<int[]> depth = ThreadLocal.withInitial(() -> new int[1]);
        volatile boolean measuring, stop;
        volatile String firstError;
        CountDownLatch idle;
        long elapsedNs;

        Run(Disk bf, boolean random, boolean write, boolean zeroCopy, int bs, int qd, long blocks) {
            this.bf = bf;
            this.random = random;
            this.write = write;
            this.zeroCopy = zeroCopy;
            this.bs = bs;
            this.qd = qd;
            this.blocks = blocks;
            this.ss = bf.sectorSize();
            bufs = zeroCopy ? null : new byte[qd][bs];
            if (write) for (byte[] b : bufs) ThreadLocalRandom.current().nextBytes(b);
        }

        void go(double warmup, double seconds) throws InterruptedException {
            idle = new CountDownLatch(qd);
            for (int i = 0; i < qd; i++) submit(i);
            if (warmup > 0) Thread.sleep((long) (warmup * 1000));
            ops.reset();
            hist.reset();
            measuring = true;
            long t0 = System.nanoTime();
            Thread.sleep(Math.max(1, (long) (seconds * 1000)));
            measuring = false;
            elapsedNs = System.nanoTime() - t0;
            stop = true;
            idle.await(60, TimeUnit.SECONDS);
            trampoline.shutdown();
        }

        void submit(int slot) {
            long block = random ? ThreadLocalRandom.current().nextLong(blocks) : Math.floorMod(cursor.getAndIncrement(), blocks);
            long sector = block * bs / ss;
            long t0 = System.nanoTime();
            // As fio's completions come from the kernel's end_io, ours come from blkfront's (EndIo): recording a
            // latency and submitting the next request is all the callback does, so it never blocks.
            if (zeroCopy) {
                bf.readShared(sector, bs / ss, (offset, data) -> { }) // left where it landed
                        .whenComplete((v, e) -> done(slot, t0, e));
            } else if (write) {
                bf.write(sector, bufs[slot], 0, bs, e -> done(slot, t0, e));
            } else {
                bf.read(sector, bufs[slot], 0, bs, e -> done(slot, t0, e));
            }
        }

        void done(int slot, long t0, Throwable e) {
            if (measuring) {
                hist.record(System.nanoTime() - t0);
                ops.increment();
            }
            if (e != null) {
                errors.increment();
                if (firstError == null) firstError = e.toString();
            }
            if (stop) {
                idle.countDown();
                return;
            }
            // A future already complete runs this callback inline in submit: bound the recursion.
            int[] d = depth.get();
            if (d[0] > 16) {
                trampoline.execute(() -> submit(slot));
                return;
            }
            d[0]++;
            try {
                submit(slot);
            } finally {
                d[0]--;
            }
        }
    }

    /** Log-linear latency histogram: 32 sub-buckets per power of two of nanoseconds; synchronized (completions of several queues). */
    static final class Histogram {
        private final long[] counts = new long[64 * 32];
        private long total;

        synchronized void record(long ns) {
            if (ns < 1) ns = 1;
            int exp = 63 - Long.numberOfLeadingZeros(ns);
            int sub = exp < 5 ? (int) (ns << (5 - exp)) & 31 : (int) (ns >>> (exp - 5)) & 31;
            counts[exp * 32 + sub]++;
            total++;
        }

        synchronized void reset() {
            java.util.Arrays.fill(counts, 0);
            total = 0;
        }

        synchronized long percentile(double p) {
            if (total == 0) return 0;
            long rank = (long) Math.ceil(p * total), seen = 0;
            for (int i = 0; i < counts.length; i++) {
                seen += counts[i];
                if (seen >= Math.max(1, rank)) {
                    int exp = i / 32, sub = i % 32;
                    return exp < 5 ? (32L + sub) >> (5 - exp) : (32L + sub) << (exp - 5);
                }
            }
            return 0;
        }
    }
}
