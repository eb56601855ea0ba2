package org.jxen.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jxen.toolstack.XenstoredProcess;

/**
 * {@code jxen bench xenstore --journal}: the same workloads against jxen's xenstored as its own process (the
 * JVM options a host gives it) without a journal, with the journal written by write(2), with the journal in a
 * shared mapping, optionally with it fsynced every round, and against C xenstored when its socket is given.
 * The daemons run side by side for the whole run (each on a fresh temporary directory) and the windows
 * alternate between them, {@code repeat} rounds per workload and connection count, each round in a rotated
 * order: on a shared machine, load that comes and goes then falls on every column alike. A column's figure is
 * its median over the rounds; the journal's cost is the median of the rounds' paired costs (each round's
 * journaled window against the same round's window without a journal).
 */
public final class JournalComparison {
    public static final String NONE = "jxen, no journal";
    public static final String WRITE = "jxen, journal (write)";
    public static final String MMAP = "jxen, journal (mmap)";
    public static final String FSYNC = "jxen, journal + fsync";
    public static final String C = "C xenstored 4.17";

    /** One column: a name and the daemon's arguments ({@code STATE}: its state directory), or C's socket. */
    private record Column(String name, List<String> args, Path cSocket) {}

    /**
     * One workload at one connection count: every column's result in every round, in round order, and for jxen's
     * daemons their CPU time per operation in each round (µs: the process's user and system time over the
     * warm-up and the window, divided by the window's rate times both; less shaken by the machine's other load
     * than the rate is).
     */
    public record Row(String workload, int conns, Map<String, List<BenchResult>> rounds, Map<String, List<Double>> cpuMicros) {
        /** Median of a jxen daemon's CPU µs per operation; NaN for C. */
        public double medianCpu(String column) {
            List<Double> c = cpuMicros.get(column);
            if (c == null || c.isEmpty()) return Double.NaN;
            List<Double> sorted = new ArrayList<>(c);
            sorted.sort(null);
            return sorted.get(sorted.size() / 2);
        }

        /** Median over rounds of {@code column's CPU per op / no journal's - 1}, in percent. */
        public double cpuCost(String column) {
            List<Double> base = cpuMicros.get(NONE);
            List<Double> with = cpuMicros.get(column);
            if (base == null || with == null) return Double.NaN;
            double[] c = new double[Math.min(base.size(), with.size())];
            for (int i = 0; i < c.length; i++) c[i] = 100.0 * (with.get(i) / base.get(i) - 1);
            Arrays.sort(c);
            return c.length == 0 ? Double.NaN : c[c.length / 2];
        }

        public BenchResult median(String column) {
            List<BenchResult> rs = new ArrayList<>(rounds.get(column));
            rs.sort((a, b) -> Double.compare(a.opsPerSecond(), b.opsPerSecond()));
            return rs.get(rs.size() / 2);
        }

        /** Median over rounds of {@code 1 - column / no journal}, in percent; NaN without both. */
        public double cost(String column) {
            List<BenchResult> base = rounds.get(NONE);
            List<BenchResult> with = rounds.get(column);
            if (base == null || with == null) return Double.NaN;
            double[] c = new double[Math.min(base.size(), with.size())];
            for (int i = 0; i < c.length; i++) {
                double b = base.get(i).opsPerSecond();
                c[i] = b == 0 ? Double.NaN : 100.0 * (1 - with.get(i).opsPerSecond() / b);
            }
            Arrays.sort(c);
            return c.length == 0 ? Double.NaN : c[c.length / 2];
        }
    }

    private JournalComparison() {
    }

    public static List<Row> run(XenStoreBench.Config template, Path cSocket, boolean fsync, int repeat, PrintStream log)
            throws IOException {
        if (repeat < 1) throw new IllegalArgumentException("repeat must be at least 1");
        List<Column> columns = new ArrayList<>(List.of(
                new Column(NONE, List.of(), null),
                new Column(WRITE, List.of("--state-dir", "STATE", "--journal-io", "write"), null),
                new Column(MMAP, List.of("--state-dir", "STATE", "--journal-io", "mmap"), null)));
        if (fsync) columns.add(new Column(FSYNC, List.of("--state-dir", "STATE", "--fsync"), null));
        if (cSocket != null) columns.add(new Column(C, List.of(), cSocket));
        List<String[]> steps = new ArrayList<>();
        for (String w : template.workloads()) {
            if (w.equals("watch") || w.equals("echo-floor")) {
                steps.add(new String[] {w, "1"});
            } else {
                for (int c : template.conns()) steps.add(new String[] {w, Integer.toString(c)});
            }
        }
        int windows = steps.size() * repeat * columns.size();
        log.printf(Locale.ROOT, "bench xenstore --journal: %d windows (%d workload/conns x %d rounds x %d daemons), %.0f s in all%n",
                windows, steps.size(), repeat, columns.size(), windows * (template.seconds() + template.warmupSeconds()));
        Map<String, Path> sockets = new LinkedHashMap<>();
        List<Process> processes = new ArrayList<>();
        Map<String, Process> byName = new LinkedHashMap<>();
        List<ScratchDir> dirs = new ArrayList<>();
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try {
            for (Column col : columns) {
                if (col.cSocket() != null) {
                    sockets.put(col.name(), col.cSocket());
                    continue;
                }
                ScratchDir dir = ScratchDir.create("jxen-bench-journal");
                dirs.add(dir);
                Process p = start(dir.path(), col.args());
                processes.add(p);
                byName.put(col.name(), p);
                sockets.put(col.name(), dir.path().resolve("socket"));
            }
            List<Row> rows = new ArrayList<>();
            int done = 0;
            for (String[] step : steps) {
                Map<String, List<BenchResult>> rounds = new LinkedHashMap<>();
                Map<String, List<Double>> cpu = new LinkedHashMap<>();
                for (Column col : columns) {
                    rounds.put(col.name(), new ArrayList<>());
                    if (col.cSocket() == null) cpu.put(col.name(), new ArrayList<>());
                }
                for (int r = 0; r < repeat; r++) {
                    for (int k = 0; k < columns.size(); k++) {
                        Column col = columns.get((k + r) % columns.size());
                        log.printf(Locale.ROOT, "bench xenstore --journal: [%d/%d] %s conns=%s round %d: %s%n",
                                ++done, windows, step[0], step[1], r + 1, col.name());
                        XenStoreBench.Config c = new XenStoreBench.Config(sockets.get(col.name()),
                                List.of(Integer.parseInt(step[1])), template.pipeline(), template.seconds(),
                                template.warmupSeconds(), List.of(step[0]));
                        Process p = byName.get(col.name());
                        long cpuBefore = cpuNanos(p);
                        BenchResult res = new XenStoreBench(c, quiet).run().getFirst();
                        rounds.get(col.name()).add(res);
                        if (p != null) {
                            double ops = res.opsPerSecond() * (template.seconds() + template.warmupSeconds());
                            cpu.get(col.name()).add(ops == 0 ? Double.NaN : (cpuNanos(p) - cpuBefore) / 1000.0 / ops);
                        }
                    }
                }
                rows.add(new Row(step[0], Integer.parseInt(step[1]), rounds, cpu));
            }
            return rows;
        } finally {
            for (Process p : processes) p.destroy();
            for (Process p : processes) {
                try {
                    p.waitFor();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            for (ScratchDir d : dirs) d.close();
        }
    }

    /** A process's user and system time so far (all its threads: the loop, the collector, the compiler). */
    private static long cpuNanos(Process p) {
        if (p == null) return 0;
        return p.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L);
    }

    /** jxen's xenstored as its own process on DIR/socket, with the host's JVM options; waits until it listens. */
    static Process start(Path dir, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(XenstoredProcess.jvmOptions());
        // As for the host's daemon (XenstoredProcess): later options win, to measure other JVM settings.
        String more = System.getenv("JXEN_XENSTORED_JAVA_OPTS");
        if (more != null && !more.isBlank()) cmd.addAll(List.of(more.trim().split("\\s+")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.jxen.cli.JxenCommand", "xenstored",
                "--socket", dir.resolve("socket").toString()));
        for (String a : args) cmd.add(a.equals("STATE") ? dir.resolve("state").toString() : a);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile());
        pb.environment().put("MALLOC_ARENA_MAX", "2");
        Process p = pb.start();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) throw new IOException("xenstored exited at start: " + Files.readString(dir.resolve("log")));
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(dir.resolve("socket")));
                return p;
            } catch (IOException notYet) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        p.destroyForcibly();
        throw new IOException("xenstored did not listen within 60 s");
    }

    /**
     * Workload, connections, then each daemon's median ops/s (its p50 in µs), then the journal's median paired
     * costs; below it every round's ops/s, so that the spread is in plain sight.
     */
    public static String markdown(List<Row> rows) {
        if (rows.isEmpty()) return "";
        List<String> names = new ArrayList<>(rows.getFirst().rounds().keySet());
        List<String> journaled = names.stream().filter(n -> !n.equals(NONE) && !n.equals(C)).toList();
        int repeat = rows.getFirst().rounds().get(NONE).size();
        StringBuilder sb = new StringBuilder("| workload | conns |");
        for (String n : names) sb.append(' ').append(n).append(" |");
        for (String n : journaled) sb.append(" cost: ").append(n.substring("jxen, ".length())).append(" |");
        sb.append("\n|---|---:|").append("---:|".repeat(names.size() + journaled.size())).append('\n');
        for (Row row : rows) {
            sb.append("| ").append(row.workload()).append(" | ").append(row.conns()).append(" |");
            for (String n : names) {
                BenchResult m = row.median(n);
                sb.append(String.format(Locale.ROOT, " %,.0f (%.1f) |", m.opsPerSecond(), m.p50Nanos() / 1000.0));
            }
            for (String n : journaled) sb.append(String.format(Locale.ROOT, " %+.1f%% |", row.cost(n)));
            sb.append('\n');
        }
        sb.append(String.format(Locale.ROOT, "%nMedians of %d round(s), ops/s (p50 us); cost = median of the rounds' 1 - journaled/no journal.%n%n", repeat));
        List<String> jxen = names.stream().filter(n -> !n.equals(C)).toList();
        sb.append("| workload | conns |");
        for (String n : jxen) sb.append(" CPU us/op: ").append(n.substring("jxen, ".length())).append(" |");
        for (String n : journaled) sb.append(" CPU cost: ").append(n.substring("jxen, ".length())).append(" |");
        sb.append("\n|---|---:|").append("---:|".repeat(jxen.size() + journaled.size())).append('\n');
        for (Row row : rows) {
            sb.append("| ").append(row.workload()).append(" | ").append(row.conns()).append(" |");
            for (String n : jxen) sb.append(String.format(Locale.ROOT, " %.2f |", row.medianCpu(n)));
            for (String n : journaled) sb.append(String.format(Locale.ROOT, " %+.1f%% |", row.cpuCost(n)));
            sb.append('\n');
        }
        sb.append("Daemon CPU time (all threads) per operation, medians; cost = median of the rounds' journaled/no journal - 1.\n\n");
        sb.append("Every round's ops/s:\n");
        for (Row row : rows) {
            sb.append("  ").append(row.workload()).append(" conns=").append(row.conns()).append(':');
            for (String n : names) {
                sb.append(' ').append(n).append(' ');
                StringBuilder each = new StringBuilder();
                for (BenchResult r : row.rounds().get(n)) each.append(each.isEmpty() ? "" : "/").append(String.format(Locale.ROOT, "%.0f", r.opsPerSecond()));
                sb.append(each).append(';');
            }
            sb.append('\n');
        }
        for (Row row : rows) {
            for (Map.Entry<String, List<BenchResult>> e : row.rounds().entrySet()) {
                for (BenchResult r : e.getValue()) {
                    if (r.errors() > 0) {
                        sb.append(String.format(Locale.ROOT, "errors in %s conns=%d, %s: %s%n", row.workload(), row.conns(),
                                e.getKey(), r.errorKinds()));
                    }
                }
            }
        }
        return sb.toString();
    }

    /** Every window as a JSON line: the bench's row with the daemon and the round. */
    public static String json(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        for (Row row : rows) {
            for (Map.Entry<String, List<BenchResult>> e : row.rounds().entrySet()) {
                for (int i = 0; i < e.getValue().size(); i++) {
                    String j = e.getValue().get(i).toJson();
                    sb.append("{\"daemon\":").append(Json.string(e.getKey())).append(",\"round\":").append(i + 1)
                            .append(',').append(j, 1, j.length()).append('\n');
                }
            }
        }
        return sb.toString();
    }
}
