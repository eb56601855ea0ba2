package org.jxen.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jxen.drivers.blk.back.DiskException;
import org.jxen.drivers.blk.back.DiskImage;
import org.jxen.drivers.blk.back.NullDisk;
import org.jxen.toolstack.DiskSpec;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.GuestExecClient;
import org.jxen.toolstack.Host;

/**
 * {@code jxen bench block}: a host in a temporary directory, guests running blkfront with 1 or 2 queues, in the
 * host's JVM and in their own process, each with two disks (xvda = {@code null:1G}, a NullDisk; xvdb = a 128 MiB
 * image of random bytes in the page cache). In each guest {@code xl exec}'s {@code blkbench} runs 4 KiB random
 * reads (qd 32) and 1 MiB sequential reads and writes (qd 8). The floor: the same reads done directly on the
 * image with {@link DiskImage} (pread into native memory), one thread, in this process.
 */
public final class BlockBench {
    public static final List<String> WORKLOADS = List.of("randread-4k", "seqread-1m", "seqread-1m-zc", "seqwrite-1m");
    public static final List<String> NAMES = List.of("randread-4k", "seqread-1m", "seqread-1m-zc", "seqwrite-1m", "inproc", "xproc",
            "null", "file", "q1", "q2", "floor");
    static final long IMAGE_BYTES = 128L << 20;

    public record Config(double seconds, double warmup, List<String> only) {}

    public record Row(String workload, String guest, String backend, String queues, double value, String unit,
            double p50us, double p99us, long count, double seconds, String error) {
        public String toJson() {
            return String.format(Locale.ROOT, "{\"workload\":%s,\"guest\":%s,\"backend\":%s,\"queues\":%s,\"value\":%.1f,"
                    + "\"unit\":%s,\"p50_us\":%.1f,\"p99_us\":%.1f,\"count\":%d,\"seconds\":%.3f,\"error\":%s}",
                    q(workload), q(guest), q(backend), q(queues), value, q(unit), p50us, p99us, count, seconds,
                    error == null ? "null" : q(error));
        }

        private static String q(String s) {
            return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        }
    }

    private final Config cfg;
    private final PrintStream log;
    private CacheLineRoundTrip.Placement placement;

    public BlockBench(Config cfg, PrintStream log) {
        this.cfg = cfg;
        this.log = log;
    }

    private boolean wanted(String... tags) {
        // A category (workload, guest, backend, queues) restricts only if --only names one of its values.
        List<List<String>> cats = List.of(WORKLOADS, List.of("inproc", "xproc", "floor"), List.of("null", "file"), List.of("q1", "q2"));
        for (List<String> cat : cats) {
            List<String> chosen = cat.stream().filter(cfg.only()::contains).toList();
            if (chosen.isEmpty()) continue;
            boolean any = false;
            for (String t : tags) any |= chosen.contains(t);
            if (!any && Stream.of(tags).anyMatch(cat::contains)) return false;
        }
        return true;
    }

    /** The runs in the order {@link #run} makes them: the floor's, then each guest's blkbench runs. */
    List<Progress.Step> plan() {
        List<Progress.Step> plan = new ArrayList<>();
        for (String w : FLOOR_WORKLOADS) if (floorWanted(w)) plan.add(new Progress.Step(floorLabel(w), 1));
        for (String guest : List.of("inproc", "xproc")) {
            for (int q : new int[] {1, 2}) {
                if (!wanted(guest, "q" + q)) continue;
                for (String backend : List.of("null", "file")) {
                    for (String w : WORKLOADS) {
                        if (guestRunWanted(w, guest, backend, q)) plan.add(new Progress.Step(guestLabel(guest, q, backend, w), 1));
                    }
                }
            }
        }
        return plan;
    }

    private static final List<String> FLOOR_WORKLOADS = List.of("randread-4k", "seqread-1m");

    private boolean floorWanted(String w) {
        boolean forZc = w.equals("seqread-1m") && wanted("seqread-1m-zc", "floor", "file");
        return wanted(w, "floor", "file") || forZc;
    }

    private boolean guestRunWanted(String w, String guest, String backend, int queues) {
        // Zero copy matters next to the file's reads, not the null disk's.
        return wanted(w, guest, backend, "q" + queues) && !(w.equals("seqread-1m-zc") && backend.equals("null"));
    }

    private static String floorLabel(String w) {
        return "floor " + w;
    }

    private static String guestLabel(String guest, int queues, String backend, String w) {
        return guest + " q" + queues + " " + backend + " " + w;
    }

    private Progress steps;

    public List<Row> run() throws Exception {
        for (String o : cfg.only()) if (!NAMES.contains(o)) throw new IllegalArgumentException("--only: unknown " + o + " (known: " + NAMES + ")");
        steps = new Progress(log, "block", plan(), cfg.warmup(), cfg.seconds());
        List<Row> rows = new ArrayList<>();
        double startNs = CacheLineRoundTrip.measure();
        try (ScratchDir scratch = ScratchDir.create("jxen-bench-block")) {
            Path dir = scratch.path();
            Path image = dir.resolve("disk.img");
            writeImage(image);
            floor(image, rows);
            try (Host host = Host.start(dir.resolve("run"), false)) {
                // The guest process runs the full tiered JIT, as a guest whose data path runs for long would
                // (guests boot C1-only by default); the floor and the in-process guest run in this JVM's.
                host.setGuestJvmOptions(List.of("-Xshare:auto"));
                for (String guest : List.of("inproc", "xproc")) {
                    for (int q : new int[] {1, 2}) {
                        if (!wanted(guest, "q" + q)) continue;
                        guestRuns(host, guest, q, image, rows);
                    }
                }
            }
        }
        placement = new CacheLineRoundTrip.Placement(startNs, CacheLineRoundTrip.measure());
        steps.done();
        return rows;
    }

    /** Where the machine put two busy threads before and after {@link #run}, for reading its figures; null before it. */
    public CacheLineRoundTrip.Placement placement() {
        return placement;
    }

    private static void writeImage(Path image) throws IOException {
        byte[] b = new byte[1 << 20];
        Random r = new Random(1);
        try (OutputStream o = Files.newOutputStream(image)) {
            for (long done = 0; done < IMAGE_BYTES; done += b.length) {
                r.nextBytes(b);
                o.write(b);
            }
        }
    }

    private void guestRuns(Host host, String guest, int queues, Path image, List<Row> rows) throws Exception {
        String name = "bench-" + guest + "-q" + queues;
        log.println("bench: " + name + ": booting");
        Host.Guest g = host.create(new GuestConfig(name, 64, 1, GuestConfig.MODULAR_KERNEL,
                List.of("blkfront.max_queues=" + queues), guest.equals("xproc")));
        try {
            host.libxl().addDevice(g.domid(), DiskSpec.parse("vdev=xvda, access=rw, target=null:1G").device());
            host.libxl().addDevice(g.domid(), DiskSpec.parse("vdev=xvdb, access=rw, target=" + image).device());
            for (String backend : List.of("null", "file")) {
                for (String w : WORKLOADS) {
                    if (!guestRunWanted(w, guest, backend, queues)) continue;
                    rows.add(blkbench(host, g.domid(), w, guest, backend, queues));
                }
            }
        } finally {
            host.destroy(g.domid());
        }
    }

    private static final Pattern KV = Pattern.compile("(\\w+)=([0-9.]+)");

    private Row blkbench(Host host, int domid, String w, String guest, String backend, int queues) throws Exception {
        String dev = backend.equals("null") ? "/dev/xvda" : "/dev/xvdb";
        boolean small = w.equals("randread-4k");
        List<String> argv = List.of("blkbench", dev, "--rw", small ? "randread" : w.startsWith("seqread") ? "read" : "write",
                "--bs", small ? "4k" : "1M", "--qd", small ? "32" : "8", "--seconds", Double.toString(cfg.seconds()),
                "--warmup", Double.toString(cfg.warmup()));
        if (w.endsWith("-zc")) argv = Stream.concat(argv.stream(), Stream.of("--zero-copy")).toList();
        steps.begin(guestLabel(guest, queues, backend, w));
        GuestExecClient.Result r = GuestExecClient.run(host.xenstore(), domid, argv, (long) ((cfg.seconds() + cfg.warmup()) * 1000) + 120_000);
        String q = Integer.toString(queues);
        if (r.status() != 0) {
            String err = (r.err() + r.out()).strip().replace('\n', ' ');
            return new Row(w, guest, backend, q, 0, small ? "IOPS" : "MB/s", 0, 0, 0, 0, err.isEmpty() ? "status " + r.status() : err);
        }
        Matcher m = KV.matcher(r.out());
        java.util.Map<String, Double> kv = new java.util.HashMap<>();
        while (m.find()) kv.put(m.group(1), Double.parseDouble(m.group(2)));
        return new Row(w, guest, backend, q, small ? kv.getOrDefault("iops", 0.0) : kv.getOrDefault("mbps", 0.0),
                small ? "IOPS" : "MB/s", kv.getOrDefault("p50_us", 0.0), kv.getOrDefault("p99_us", 0.0),
                kv.getOrDefault("ops", 0.0).longValue(), kv.getOrDefault("seconds", 0.0), null);
    }

    /** The same reads done directly on the image, one thread, synchronous pread into native memory. */
    private void floor(Path image, List<Row> rows) throws IOException {
        for (String w : FLOOR_WORKLOADS) {
            if (!floorWanted(w)) continue;
            steps.begin(floorLabel(w));
            boolean small = w.equals("randread-4k");
            int bs = small ? 4096 : 1 << 20;
            long blocks = IMAGE_BYTES / bs;
            int spb = bs / 512;
            long[] lat = new long[1 << 20];
            try (Arena arena = Arena.ofConfined(); DiskImage disk = DiskImage.open(image, true)) {
                MemorySegment[] buf = {arena.allocate(bs, 4096)};
                long ops = 0, cursor = 0, n = 0;
                long end = System.nanoTime() + (long) (cfg.warmup() * 1e9);
                long t0 = 0;
                boolean measuring = false;
                while (true) {
                    long now = System.nanoTime();
                    if (!measuring && now >= end) {
                        measuring = true;
                        t0 = now;
                        end = now + (long) (cfg.seconds() * 1e9);
                    } else if (measuring && now >= end) {
                        break;
                    }
                    long block = small ? ThreadLocalRandom.current().nextLong(blocks) : cursor++ % blocks;
                    long s = System.nanoTime();
                    disk.read(block * spb, buf, 1);
                    if (measuring) {
                        lat[(int) (n++ & (lat.length - 1))] = System.nanoTime() - s;
                        ops++;
                    }
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                long[] l = java.util.Arrays.copyOf(lat, (int) Math.min(n, lat.length));
                java.util.Arrays.sort(l);
                double p50 = l.length == 0 ? 0 : l[l.length / 2] / 1e3, p99 = l.length == 0 ? 0 : l[(int) (l.length * 0.99)] / 1e3;
                rows.add(new Row(w, "floor", "file", "-", small ? ops / secs : ops * (double) bs / 1e6 / secs,
                        small ? "IOPS" : "MB/s", p50, p99, ops, secs, null));
            } catch (DiskException e) {
                rows.add(new Row(w, "floor", "file", "-", 0, small ? "IOPS" : "MB/s", 0, 0, 0, 0, e.getMessage()));
            }
        }
    }

    public static String markdown(List<Row> rows) {
        StringBuilder b = new StringBuilder("| workload | guest | backend | queues | value | unit | p50 us | p99 us |\n|---|---|---|---|---:|---|---:|---:|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %.1f | %.1f |%n", r.workload(), r.guest(),
                    r.backend(), r.queues(), r.error() != null ? "ERROR" : String.format(Locale.ROOT, "%.0f", r.value()),
                    r.unit(), r.p50us(), r.p99us()));
        }
        for (Row r : rows) if (r.error() != null) b.append(String.format("%s %s %s q%s: %s%n", r.workload(), r.guest(), r.backend(), r.queues(), r.error()));
        return b.toString();
    }

    /** The targets, met or MISSED, for the rows that were run. */
    public static String targets(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        target(b, rows, "4 KiB random read, null backend, in-process >= 300k IOPS", "randread-4k", "inproc", "null", 300_000);
        target(b, rows, "4 KiB random read, null backend, cross-process >= 150k IOPS", "randread-4k", "xproc", "null", 150_000);
        double floor = best(rows, "seqread-1m", "floor", "file");
        for (String g : List.of("inproc", "xproc")) {
            double v = best(rows, "seqread-1m", g, "file");
            if (v > 0 && floor > 0) {
                b.append(String.format(Locale.ROOT, "- 1 MiB sequential read, file backend, %s >= 70%% of direct (%.0f MB/s): %.0f MB/s = %.0f%%: %s%n",
                        g, floor, v, 100 * v / floor, v >= 0.7 * floor ? "met" : "MISSED"));
            }
        }
        for (String g : List.of("inproc", "xproc")) {
            double v = best(rows, "seqread-1m-zc", g, "file");
            if (v > 0 && floor > 0) {
                b.append(String.format(Locale.ROOT, "- (no target) the same reads zero-copy (readShared), %s: %.0f MB/s = %.0f%% of direct%n",
                        g, v, 100 * v / floor));
            }
        }
        return b.toString();
    }

    private static void target(StringBuilder b, List<Row> rows, String what, String w, String g, String be, double goal) {
        double v = best(rows, w, g, be);
        if (v > 0) b.append(String.format(Locale.ROOT, "- %s: best %.0f: %s%n", what, v, v >= goal ? "met" : "MISSED"));
    }

    private static double best(List<Row> rows, String w, String g, String be) {
        return rows.stream().filter(r -> r.error() == null && r.workload().equals(w) && r.guest().equals(g) && r.backend().equals(be))
                .mapToDouble(Row::value).max().orElse(0);
    }
}
