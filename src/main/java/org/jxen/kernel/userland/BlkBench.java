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
 *
 * <p>Under {@code xl exec} it survives a save, restore or migration ({@link Job}): every 50 ms of its run is a
 * safe point; when a freeze waits it stops submitting, lets what is in flight complete, and parks with its progress
 * ({@link Progress}: the warm-up and measured time left, the time measured, ops, errors, the latency histogram and
 * its generator's state). A restored kernel's blkbench starts from there: it runs the rest of the window and its
 * line reports the totals of both parts (it says on stderr where it resumed).
 */
final class BlkBench {
    private BlkBench() {}

    /** Between two safe points (and two looks at the clock). */
    static final long SLICE_NS = 50_000_000;

    static int run(Kernel kernel, List<String> args, PrintStream out, PrintStream err) {
        return run(kernel, args, out, err, Job.NONE);
    }

    static int run(Kernel kernel, List<String> args, PrintStream out, PrintStream err, Job job) {
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
        Progress from;
        try {
            from = job.resumed() != null ? Progress.decode(job.resumed())
                    : Progress.fresh((long) (warmup * 1e9), Math.max(1_000_000, (long) (seconds * 1e9)));
        } catch (IllegalStateException e) {
            err.println("blkbench: " + e.getMessage());
            return 1;
        }
        Disk bf;
        try {
            bf = Dev.disk(kernel, dev.substring(Dev.DEV_PREFIX.length()),
                    job.resumed() != null ? Utilities.RESUME_DISK_WAIT_S : Dev.DISK_WAIT_S);
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
        Run r = new Run(bf, rw.startsWith("rand"), write, zeroCopy && !write, (int) bs, qd, blocks, from);
        if (job.resumed() != null) {
            err.println(String.format(Locale.ROOT, "blkbench: resumed after a suspend at ops=%d seconds=%.3f, %.3f s to go",
                    from.ops(), from.measuredNs() / 1e9, (from.warmupLeftNs() + from.measureLeftNs()) / 1e9));
        }
        try {
            r.go(job);
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
        final AtomicLong cursor;
        /** splitmix64's state: one long, recorded at a suspend, so the offsets go on as they would have. */
        final AtomicLong rng;
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
        long warmupLeftNs, measureLeftNs;
        volatile Job job = Job.NONE;

        Run(Disk bf, boolean random, boolean write, boolean zeroCopy, int bs, int qd, long blocks, Progress from) {
            this.bf = bf;
            this.random = random;
            this.write = write;
            this.zeroCopy = zeroCopy;
            this.bs = bs;
            this.qd = qd;
            this.blocks = blocks;
            this.ss = bf.sectorSize();
            warmupLeftNs = from.warmupLeftNs();
            measureLeftNs = from.measureLeftNs();
            elapsedNs = from.measuredNs();
            ops.add(from.ops());
            errors.add(from.errors());
            hist.add(from.histogram());
            rng = new AtomicLong(from.rng());
            cursor = new AtomicLong(from.cursor());
            bufs = zeroCopy ? null : new byte[qd][bs];
            if (write) for (byte[] b : bufs) ThreadLocalRandom.current().nextBytes(b);
        }

        /** The warm-up, then the measured window, in slices; at a freeze it drains, parks and starts again. */
        void go(Job job) throws InterruptedException {
            this.job = job;
            try {
                start();
                while (warmupLeftNs > 0 || measureLeftNs > 0) {
                    boolean warm = warmupLeftNs > 0;
                    measuring = !warm;
                    long t0 = System.nanoTime();
                    TimeUnit.NANOSECONDS.sleep(Math.min(SLICE_NS, warm ? warmupLeftNs : measureLeftNs));
                    long dt = System.nanoTime() - t0;
                    if (warm) {
                        warmupLeftNs -= dt;
                    } else {
                        measureLeftNs -= dt;
                        elapsedNs += dt;
                    }
                    if (job.freezing() && (warmupLeftNs > 0 || measureLeftNs > 0)) {
                        drain();
                        Progress at = progress();
                        job.safePoint(at::encode);
                        start();
                    }
                }
                drain();
            } finally {
                trampoline.shutdown();
            }
        }

        private void start() {
            stop = false;
            idle = new CountDownLatch(qd);
            for (int i = 0; i < qd; i++) submit(i);
        }

        /** Stops submitting and waits for what is in flight. */
        private void drain() throws InterruptedException {
            measuring = false;
            stop = true;
            idle.await(60, TimeUnit.SECONDS);
        }

        Progress progress() {
            return new Progress(Math.max(0, warmupLeftNs), Math.max(0, measureLeftNs), elapsedNs, ops.sum(), errors.sum(),
                    rng.get(), cursor.get(), hist.buckets());
        }

        long nextRandom() {
            long z = rng.addAndGet(0x9E3779B97F4A7C15L);
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        void submit(int slot) {
            long block = random ? Math.unsignedMultiplyHigh(nextRandom(), blocks) : Math.floorMod(cursor.getAndIncrement(), blocks);
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
            if (e == null) job.account(write ? 0 : bs, write ? bs : 0);
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

        /** The non-empty buckets: index, count. */
        synchronized long[][] buckets() {
            java.util.List<long[]> out = new java.util.ArrayList<>();
            for (int i = 0; i < counts.length; i++) if (counts[i] != 0) out.add(new long[] {i, counts[i]});
            return out.toArray(long[][]::new);
        }

        synchronized void add(long[][] buckets) {
            for (long[] b : buckets) {
                counts[(int) b[0]] += b[1];
                total += b[1];
            }
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

    /**
     * What a suspended blkbench goes on from, big-endian: u64 warm-up left (ns), u64 measured window left (ns),
     * u64 time measured (ns), u64 ops, u64 errors, u64 the generator's state, u64 the sequential cursor, u32 buckets,
     * per non-empty latency bucket u16 index and u64 count.
     */
    record Progress(long warmupLeftNs, long measureLeftNs, long measuredNs, long ops, long errors, long rng, long cursor,
            long[][] histogram) {
        static Progress fresh(long warmupNs, long measureNs) {
            return new Progress(warmupNs, measureNs, 0, 0, 0, ThreadLocalRandom.current().nextLong(), 0, new long[0][]);
        }

        byte[] encode() {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(7 * 8 + 4 + histogram.length * 10);
            b.putLong(warmupLeftNs).putLong(measureLeftNs).putLong(measuredNs).putLong(ops).putLong(errors).putLong(rng)
                    .putLong(cursor).putInt(histogram.length);
            for (long[] h : histogram) b.putShort((short) h[0]).putLong(h[1]);
            return b.array();
        }

        /** IllegalStateException for bytes that are not a blkbench's progress. */
        static Progress decode(byte[] bytes) {
            try {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
                long[] v = new long[7];
                for (int i = 0; i < v.length; i++) {
                    v[i] = b.getLong();
                    if (v[i] < 0 && i != 5) throw new IllegalStateException("blkbench progress with a negative count");
                }
                int n = b.getInt();
                if (n < 0 || n > 64 * 32) throw new IllegalStateException("blkbench progress of " + n + " latency buckets");
                long[][] h = new long[n][];
                for (int i = 0; i < n; i++) {
                    int index = Short.toUnsignedInt(b.getShort());
                    long count = b.getLong();
                    if (index >= 64 * 32 || count < 0) throw new IllegalStateException("blkbench progress with a bad latency bucket");
                    h[i] = new long[] {index, count};
                }
                if (b.hasRemaining()) throw new IllegalStateException("blkbench progress with trailing bytes");
                return new Progress(v[0], v[1], v[2], v[3], v[4], v[5], v[6], h);
            } catch (java.nio.BufferUnderflowException e) {
                throw new IllegalStateException("blkbench progress cut short");
            }
        }
    }
}
