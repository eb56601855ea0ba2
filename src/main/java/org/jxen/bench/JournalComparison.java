package org.jxen.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jxen.toolstack.XenstoredProcess;

/**
 * {@code jxen bench xenstore --journal}: the same workloads against jxen's xenstored as its own process (the
 * JVM options a host gives it) without a journal, with the journal, and with the journal fsynced every loop
 * round, and against C xenstored when its socket is given, all in one run; then the journal's cost in write
 * throughput. Daemons run one after the other, each on a fresh temporary directory.
 */
public final class JournalComparison {
    /** One column: a name and how to get a daemon's socket (and to stop it). */
    private record Daemon(String name, List<String> args, Path cSocket) {}

    private JournalComparison() {
    }

    public static Map<String, List<BenchResult>> run(XenStoreBench.Config template, Path cSocket, PrintStream log)
            throws IOException {
        List<Daemon> daemons = new ArrayList<>(List.of(
                new Daemon("jxen, no journal", List.of(), null),
                new Daemon("jxen, journal", List.of("--state-dir", "STATE"), null),
                new Daemon("jxen, journal + fsync", List.of("--state-dir", "STATE", "--fsync"), null),
                new Daemon("jxen, journal (mmap)", List.of("--state-dir", "STATE", "--journal-io", "mmap"), null)));
        if (cSocket != null) daemons.add(new Daemon("C xenstored 4.17", List.of(), cSocket));
        Map<String, List<BenchResult>> out = new LinkedHashMap<>();
        for (Daemon d : daemons) {
            log.println("bench: " + d.name());
            if (d.cSocket() != null) {
                out.put(d.name(), bench(template, d.cSocket(), log));
                continue;
            }
            Path dir = Files.createTempDirectory("jxen-bench-journal");
            Process p = start(dir, d.args());
            try {
                out.put(d.name(), bench(template, dir.resolve("socket"), log));
            } finally {
                p.destroy();
                try {
                    p.waitFor();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                deleteTree(dir);
            }
        }
        return out;
    }

    private static List<BenchResult> bench(XenStoreBench.Config t, Path socket, PrintStream log) throws IOException {
        XenStoreBench.Config c = new XenStoreBench.Config(socket, t.conns(), t.pipeline(), t.seconds(), t.warmupSeconds(), t.workloads());
        return new XenStoreBench(c, log).run();
    }

    /** jxen's xenstored as its own process on DIR/socket, with the host's JVM options; waits until it listens. */
    static Process start(Path dir, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(XenstoredProcess.jvmOptions());
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

    /** Workload, connections, then ops/s (p50 µs) per daemon, then the journal's cost against no journal. */
    public static String markdown(Map<String, List<BenchResult>> results) {
        List<String> names = new ArrayList<>(results.keySet());
        StringBuilder sb = new StringBuilder("| workload | conns |");
        for (String n : names) sb.append(' ').append(n).append(" |");
        sb.append(" journal cost | journal + fsync cost | journal (mmap) cost |\n|---|---:|");
        sb.append("---:|".repeat(names.size() + 3)).append('\n');
        List<BenchResult> base = results.get(names.getFirst());
        for (int i = 0; i < base.size(); i++) {
            BenchResult b = base.get(i);
            sb.append("| ").append(b.workload()).append(" | ").append(b.conns()).append(" |");
            for (String n : names) {
                BenchResult r = results.get(n).size() > i ? results.get(n).get(i) : null;
                sb.append(r == null ? " - |" : String.format(" %,.0f (%.1f) |", r.opsPerSecond(), r.p50Nanos() / 1000.0));
            }
            sb.append(cost(b, results.get("jxen, journal"), i)).append(cost(b, results.get("jxen, journal + fsync"), i))
                    .append(cost(b, results.get("jxen, journal (mmap)"), i)).append('\n');
        }
        return sb.toString();
    }

    private static String cost(BenchResult base, List<BenchResult> with, int i) {
        if (with == null || with.size() <= i || base.opsPerSecond() == 0) return " - |";
        double c = 100.0 * (1 - with.get(i).opsPerSecond() / base.opsPerSecond());
        return String.format(" %+.1f%% |", c);
    }

    static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
