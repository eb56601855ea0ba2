package org.jxen.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jxen.kernel.userland.MemDirty;
import org.jxen.toolstack.DomainConfig;
import org.jxen.toolstack.GuestExecClient;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.migration.Migration;
import org.jxen.toolstack.migration.MigrationListener;

/**
 * {@code jxen bench migrate}: two hosts in a temporary directory, each with its migration listener on loopback;
 * per guest size (64 MiB, 1 GiB) and workload (idle: its memory filled once by {@code memdirty}, then quiet;
 * writing: memdirty rewriting pages throughout), a guest in the host's JVM is live-migrated from the first host to
 * the second over TCP with {@code xl migrate --live}'s code, and the run reports the pages sent per round, the
 * downtime (from the guest's suspend at the source to the target reporting it running) and the total time, with
 * the stream's rate beside the floor: a plain copy of the same memory, in this process, into a fresh tmpfs file
 * (what a restore writes into), measured in the same run.
 */
public final class MigrateBench {
    /** The target: an idle 1 GiB guest's downtime. */
    public static final Duration TARGET_DOWNTIME = Duration.ofMillis(50);

    public record Config(List<Integer> sizesMiB, List<String> workloads, int dirtyPagesPerMs) {}

    public record Row(int mib, String workload, List<Long> pagesPerRound, long bytes, double downtimeMs, double totalMs,
            double streamGBps, double floorGBps, String error) {
        public String toJson() {
            return String.format(Locale.ROOT, "{\"mib\":%d,\"workload\":\"%s\",\"pages_per_round\":%s,\"bytes\":%d,"
                    + "\"downtime_ms\":%.1f,\"total_ms\":%.1f,\"stream_gbps\":%.3f,\"floor_gbps\":%.3f,\"error\":%s}",
                    mib, workload, pagesPerRound, bytes, downtimeMs, totalMs, streamGBps, floorGBps,
                    error == null ? "null" : "\"" + error.replace("\"", "'") + "\"");
        }
    }

    private final Config cfg;
    private final PrintStream log;

    public MigrateBench(Config cfg, PrintStream log) {
        this.cfg = cfg;
        this.log = log;
    }

    public List<Row> run() throws Exception {
        List<Row> rows = new ArrayList<>();
        ScratchDir scratch = ScratchDir.create("jxen-bench-migrate");
        Path tmp = scratch.path();
        int runs = cfg.sizesMiB().size() * cfg.workloads().size();
        log.printf(Locale.ROOT, "bench migrate: %d runs (sizes %s MiB x %s), each a guest filled and live-migrated once%n",
                runs, cfg.sizesMiB(), cfg.workloads());
        long start = System.nanoTime();
        try (scratch; Host h1 = Host.start(tmp.resolve("h1"), false); Host h2 = Host.start(tmp.resolve("h2"), false);
                MigrationListener l2 = MigrationListener.start(h2, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            int n = 0;
            for (int mib : cfg.sizesMiB()) {
                for (String w : cfg.workloads()) {
                    n++;
                    log.printf(Locale.ROOT, "[%d/%d] %d MiB, %s (%.0f s so far)%n", n, runs, mib, w,
                            (System.nanoTime() - start) / 1e9);
                    rows.add(one(h1, h2, l2, tmp, mib, w, n));
                }
            }
        }
        log.printf(Locale.ROOT, "bench migrate: done in %.0f s%n", (System.nanoTime() - start) / 1e9);
        return rows;
    }

    private Row one(Host h1, Host h2, MigrationListener l2, Path tmp, int mib, String workload, int n) {
        String name = "mig" + n;
        try {
            DomainConfig dc = DomainConfig.parse("name = \"" + name + "\"\nmemory = " + mib + "\ninproc = 1\n");
            Host.Guest g = h1.create(dc);
            int fill = Math.max(1, mib - 2);
            int rate = workload.equals("writing") ? cfg.dirtyPagesPerMs() : 0;
            GuestExecClient.Result r = GuestExecClient.run(h1.xenstore(), g.domid(),
                    List.of("insmod", MemDirty.NAME, "mib=" + fill, "pages_per_ms=" + rate), 120_000);
            if (r.status() != 0) throw new IOException("insmod memdirty: " + r.err().strip());
            awaitLine(h1, g.domid(), MemDirty.NAME + ": filled ");
            double floor = floorGBps(h1.hypervisor().domainMemory(g.domid()), tmp);
            Migration.Result m = Migration.migrate(h1, g.domid(), l2.address(), true, Duration.ofSeconds(60), l -> log.println("  " + l));
            double seconds = m.total().toNanos() / 1e9;
            Row row = new Row(mib, workload, m.pagesPerRound(), m.bytes(), m.downtime().toNanos() / 1e6,
                    m.total().toNanos() / 1e6, m.bytes() / seconds / 1e9, floor, null);
            for (Host.Guest t : h2.guests()) if (t.name().equals(name)) h2.destroy(t.domid());
            return row;
        } catch (Exception e) {
            for (Host h : new Host[] {h1, h2}) {
                for (Host.Guest t : h.guests()) {
                    if (!t.name().equals(name)) continue;
                    try {
                        h.destroy(t.domid());
                    } catch (Exception ignored) {
                        // reported below
                    }
                }
            }
            return new Row(mib, workload, List.of(), 0, 0, 0, 0, 0, e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    private static void awaitLine(Host h, int domid, String prefix) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (System.nanoTime() < deadline) {
            var log = h.consoleLog(domid);
            if (log != null && log.lines().stream().anyMatch(l -> l.startsWith(prefix))) return;
            Thread.sleep(20);
        }
        throw new IOException("the guest did not print \"" + prefix + "\" within 5 minutes");
    }

    /** A plain copy of the guest's whole memory into a new tmpfs file's mapping: GB/s (best of 3). */
    private static double floorGBps(MemorySegment memory, Path tmp) throws IOException {
        Path shm = Path.of("/dev/shm");
        Path f = Files.createTempFile(Files.isDirectory(shm) ? shm : tmp, "jxen-bench-floor", ".mem");
        double best = 0;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE); Arena a = Arena.ofConfined()) {
            ch.truncate(memory.byteSize());
            for (int i = 0; i < 3; i++) {
                MemorySegment to = ch.map(FileChannel.MapMode.READ_WRITE, 0, memory.byteSize(), a);
                long t0 = System.nanoTime();
                MemorySegment.copy(memory, 0, to, 0, memory.byteSize());
                double s = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, memory.byteSize() / s / 1e9);
                ch.truncate(0);
                ch.truncate(memory.byteSize());
            }
        } finally {
            Files.deleteIfExists(f);
        }
        return best;
    }

    public static String markdown(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append("| guest | workload | pages per round (last: stop-and-copy) | MiB sent | downtime ms | total ms | stream GB/s | plain copy GB/s |\n");
        b.append("|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            if (r.error() != null) {
                b.append(String.format(Locale.ROOT, "| %d MiB | %s | error: %s | | | | | |%n", r.mib(), r.workload(), r.error()));
                continue;
            }
            b.append(String.format(Locale.ROOT, "| %d MiB | %s | %s | %.1f | %.1f | %.1f | %.2f | %.2f |%n", r.mib(),
                    r.workload(), r.pagesPerRound(), r.bytes() / 1048576.0, r.downtimeMs(), r.totalMs(), r.streamGBps(),
                    r.floorGBps()));
        }
        return b.toString();
    }

    public static String targets(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        for (Row r : rows) {
            if (r.mib() == 1024 && r.workload().equals("idle") && r.error() == null) {
                boolean met = r.downtimeMs() < TARGET_DOWNTIME.toMillis();
                b.append(String.format(Locale.ROOT, "target: downtime of an idle 1 GiB guest under %d ms: %s (%.1f ms)%n",
                        TARGET_DOWNTIME.toMillis(), met ? "met" : "missed", r.downtimeMs()));
            }
        }
        return b.toString();
    }

}
