package org.jxen.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jxen.hypervisor.HypercallException;
import org.jxen.libc.Rlimits;
import org.jxen.toolstack.Host;

/**
 * {@code jxen bench xenstore --c-socket PATH}: jxen's xenstored and C xenstored side by side in one run, the
 * same workloads against each in turn, the order alternating between repeats (jxen first, then C first, ...),
 * so that whatever else loads the machine falls on both alike. Each row: median ops/s of each, their ratio,
 * and each daemon's CPU time per request over the measured windows (/proc/PID/stat).
 *
 * <p>With {@code --idle N} every measurement runs twice per daemon and repeat: with nothing else open, then
 * with N idle Unix-socket connections and N idle guest rings (jxen: real domains of a host the bench starts,
 * whose xenstored runs as a host runs it; C: fake domains, see {@link IdleRings.Fake}).
 */
public final class PeerComparison {
    public static final String JXEN = "jxen";
    public static final String C = "C 4.17";

    /** One measured row: a workload and connection count, per daemon the runs, in repeat order. */
    public record Row(String workload, int conns, Map<String, List<BenchResult>> base, Map<String, List<BenchResult>> idle) {
        double medianOps(String daemon, boolean idleOpen) {
            return median((idleOpen ? idle : base).getOrDefault(daemon, List.of()).stream().mapToDouble(BenchResult::opsPerSecond).toArray());
        }

        double medianCpu(String daemon, boolean idleOpen) {
            return median((idleOpen ? idle : base).getOrDefault(daemon, List.of()).stream()
                    .mapToDouble(BenchResult::daemonCpuMicrosPerRequest).filter(d -> !Double.isNaN(d)).toArray());
        }

        public long errors() {
            return java.util.stream.Stream.of(base, idle).flatMap(m -> m.values().stream()).flatMap(List::stream)
                    .mapToLong(BenchResult::errors).sum();
        }
    }

    /** What was measured, how the daemons were placed and what the idle load was. */
    public record Report(List<Row> rows, int repeats, int idle, Map<String, String> placement, Map<String, String> idleNotes) {}

    private final XenStoreBench.Config template;
    private final Path cSocket;
    private final int repeats;
    private final int idle;
    private final String daemonCpus;
    private final PrintStream log;

    public PeerComparison(XenStoreBench.Config template, Path cSocket, int repeats, int idle, String daemonCpus, PrintStream log) {
        if (repeats < 1) throw new IllegalArgumentException("repeat must be at least 1");
        if (idle < 0) throw new IllegalArgumentException("idle must not be negative");
        this.template = template;
        this.cSocket = cSocket;
        this.repeats = repeats;
        this.idle = idle;
        this.daemonCpus = daemonCpus;
        this.log = log;
    }

    public Report run() throws IOException {
        long cPid = cSocket == null ? 0 : SocketOwner.pid(cSocket);
        if (cSocket != null && cPid == 0) throw new IOException("no process listens on " + cSocket + " (start C xenstored with tools/c-xenstored.sh)");
        if (idle > 0) needFiles(idle + 1024L);
        ScratchDir scratch = ScratchDir.create("jxen-bench-peer");
        Path dir = scratch.path();
        Host host = null;
        Process own = null;
        try {
            Path jxenSocket;
            long jxenPid;
            IdleLoad.Rings jxenRings;
            if (idle > 0) {
                // Guest rings need a hypervisor and dom0's device socket: a host, with its xenstored as it runs it.
                host = Host.start(dir.resolve("host"), false);
                jxenSocket = host.xenstoredSocket();
                jxenPid = host.xenstoredProcess().pid();
                jxenRings = new IdleRings.OnHost(host);
            } else {
                own = JournalComparison.start(dir, List.of());
                jxenSocket = dir.resolve("socket");
                jxenPid = own.pid();
                jxenRings = new IdleLoad.NoRings("not asked for");
            }
            Map<String, Target> targets = new LinkedHashMap<>();
            targets.put(JXEN, new Target(jxenSocket, jxenPid, jxenRings));
            if (cSocket != null) targets.put(C, new Target(cSocket, cPid, new IdleRings.Fake(cSocket)));
            Map<String, String> placement = new LinkedHashMap<>();
            for (Map.Entry<String, Target> t : targets.entrySet()) {
                if (daemonCpus != null) pin(t.getValue().pid, daemonCpus);
                placement.put(t.getKey() + " (pid " + t.getValue().pid + ")", cpusOf("/proc/" + t.getValue().pid + "/status"));
            }
            placement.put("bench (pid " + ProcessHandle.current().pid() + ")", cpusOf("/proc/self/status"));
            return measure(targets, placement);
        } catch (HypercallException e) {
            throw new IOException("starting the host for idle guest rings: " + e.getMessage(), e);
        } finally {
            if (host != null) host.close();
            if (own != null) {
                own.destroy();
                try {
                    own.waitFor();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            scratch.close();
        }
    }

    private record Target(Path socket, long pid, IdleLoad.Rings rings) {}

    private Report measure(Map<String, Target> targets, Map<String, String> placement) throws IOException {
        // results.get(daemon).get(idle?1:0).get(repeat) = that run's rows
        Map<String, List<List<List<BenchResult>>>> results = new LinkedHashMap<>();
        Map<String, String> idleNotes = new LinkedHashMap<>();
        List<String> names = new ArrayList<>(targets.keySet());
        for (String n : names) results.put(n, List.of(new ArrayList<>(), new ArrayList<>()));
        for (int r = 0; r < repeats; r++) {
            List<String> order = new ArrayList<>(names);
            if (r % 2 == 1) java.util.Collections.reverse(order);
            for (String n : order) {
                Target t = targets.get(n);
                log.println("bench: repeat " + (r + 1) + "/" + repeats + ", " + n);
                results.get(n).get(0).add(bench(t, log));
                if (idle > 0) {
                    try (IdleLoad load = IdleLoad.open(t.socket, idle, t.rings)) {
                        String note = load.sockets() + " idle socket connections, " + load.rings() + " idle guest rings"
                                + (load.ringProblem() != null ? " (rings: " + load.ringProblem() + ")" : "");
                        idleNotes.put(n, note);
                        log.println("bench: " + n + ": " + note);
                        results.get(n).get(1).add(bench(t, log));
                    }
                }
            }
        }
        List<Row> rows = new ArrayList<>();
        List<BenchResult> shape = results.get(JXEN).get(0).getFirst();
        for (int i = 0; i < shape.size(); i++) {
            Map<String, List<BenchResult>> base = new LinkedHashMap<>(), withIdle = new LinkedHashMap<>();
            for (String n : names) {
                base.put(n, column(results.get(n).get(0), i));
                if (idle > 0) withIdle.put(n, column(results.get(n).get(1), i));
            }
            rows.add(new Row(shape.get(i).workload(), shape.get(i).conns(), base, withIdle));
        }
        return new Report(rows, repeats, idle, placement, idleNotes);
    }

    private static List<BenchResult> column(List<List<BenchResult>> runs, int i) {
        List<BenchResult> out = new ArrayList<>();
        for (List<BenchResult> run : runs) if (run.size() > i) out.add(run.get(i));
        return out;
    }

    private List<BenchResult> bench(Target t, PrintStream log) throws IOException {
        XenStoreBench.Config c = new XenStoreBench.Config(t.socket, template.conns(), template.pipeline(), template.seconds(),
                template.warmupSeconds(), template.workloads(), t.pid);
        return new XenStoreBench(c, log).run();
    }

    /** Raises this process's open-files soft limit (its daemons inherit it) to what the idle load needs. */
    private static void needFiles(long files) throws IOException {
        long[] now = Rlimits.raiseSoftToHard(Rlimits.RLIMIT_NOFILE);
        if (now != null && now[0] != Rlimits.INFINITY && now[0] < files) {
            throw new IOException("--idle needs about " + files + " open files; the limit here is " + now[0]
                    + " (raise the hard limit: ulimit -Hn, or LimitNOFILE for a service)");
        }
    }

    private static void pin(long pid, String cpus) throws IOException {
        try {
            Process p = new ProcessBuilder("taskset", "-a", "-p", "-c", cpus, Long.toString(pid))
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            if (p.waitFor() != 0) throw new IOException("taskset -a -p -c " + cpus + " " + pid + ": " + out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while pinning", e);
        }
    }

    /** Cpus_allowed_list of a /proc/PID/status. */
    private static String cpusOf(String status) {
        try {
            for (String line : Files.readAllLines(Path.of(status))) {
                if (line.startsWith("Cpus_allowed_list:")) return "CPUs " + line.substring(18).trim();
            }
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
        return "unknown";
    }

    static double median(double[] v) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** The tables: medians side by side and the ratio; with --idle, each daemon with and without the idle load. */
    public static String markdown(Report report) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Medians of %d run%s each, order alternating.%n%n", report.repeats(),
                report.repeats() == 1 ? "" : "s"));
        sb.append("| workload | conns | jxen ops/s | C ops/s | jxen / C | jxen CPU us/request | C CPU us/request | jxen runs | C runs |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---|---|\n");
        for (Row r : report.rows()) {
            double j = r.medianOps(JXEN, false), c = r.medianOps(C, false);
            sb.append(String.format(Locale.ROOT, "| %s | %d | %,.0f | %,.0f | %.2fx | %s | %s | %s | %s |%n", r.workload(),
                    r.conns(), j, c, j / c, us(r.medianCpu(JXEN, false)), us(r.medianCpu(C, false)),
                    runs(r.base().get(JXEN)), runs(r.base().get(C))));
        }
        if (report.idle() > 0) {
            sb.append(String.format(Locale.ROOT, "%nOne busy connection, with nothing else open and with --idle %d:%n", report.idle()));
            report.idleNotes().forEach((n, note) -> sb.append("- ").append(n).append(": ").append(note).append('\n'));
            sb.append("\n| workload | conns | daemon | ops/s, none idle | ops/s, idle open | idle / none | CPU us/request, none | CPU us/request, idle |\n");
            sb.append("|---|---:|---|---:|---:|---:|---:|---:|\n");
            for (Row r : report.rows()) {
                for (String n : r.base().keySet()) {
                    double none = r.medianOps(n, false), with = r.medianOps(n, true);
                    sb.append(String.format(Locale.ROOT, "| %s | %d | %s | %,.0f | %,.0f | %.2f | %s | %s |%n", r.workload(),
                            r.conns(), n, none, with, with / none, us(r.medianCpu(n, false)), us(r.medianCpu(n, true))));
                }
            }
        }
        sb.append("\nCPU placement:");
        report.placement().forEach((k, v) -> sb.append(' ').append(k).append(": ").append(v).append(';'));
        sb.append('\n');
        for (Row r : report.rows()) {
            if (r.errors() > 0) sb.append("errors in ").append(r.workload()).append(" conns=").append(r.conns()).append(": ").append(r.errors()).append('\n');
        }
        return sb.toString();
    }

    private static String us(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String runs(List<BenchResult> rs) {
        StringBuilder sb = new StringBuilder();
        for (BenchResult b : rs) sb.append(sb.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.0f", b.opsPerSecond()));
        return sb.toString();
    }
}
