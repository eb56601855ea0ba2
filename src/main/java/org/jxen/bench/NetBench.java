package org.jxen.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code jxen bench net}: between two guests on xenbr0, TCP throughput (iperf3) guest to guest and guest to dom0,
 * small-packet rate (iperf3 UDP with 64-byte payloads over several flows, so both of a vif's queues carry them)
 * with the CPU time spent per packet, and ping round trips ({@code ping -f} style); each beside the same figure over a plain veth pair
 * between two network namespaces (the floor: Linux alone), measured first in the same run. Everything runs in
 * namespaces made for the run (the host itself inside one, as {@code ip netns exec NS jxen host}) and removed
 * after; the machine's own interfaces are not touched. Each TCP figure follows a 1 s run that is not counted (a
 * warm-up: the JIT compiles the drivers' paths in it). Reported, not asserted.
 *
 * <p>CPU per packet is the CPU time (user and system, from /proc) of every process that takes part, divided by
 * the UDP packets received: for the veth pair the two iperf3 processes (the kernel's forwarding is done in their
 * system calls), for the guests the host's process tree (dom0 with netback, the guests' processes with netfront,
 * the iperf3 processes inside the guests).
 */
public final class NetBench {
    public record Row(String what, double guests, double veth, String unit) {}

    /** Bytes of UDP payload per datagram: 64 as the "64-byte UDP" (a 106-byte Ethernet frame). */
    static final int UDP_PAYLOAD = 64;
    /** Parallel UDP flows: enough that the flow hash spreads them over two queues. */
    static final int UDP_FLOWS = 4;

    private final List<String> jxen;
    private final int seconds;
    private int queues;

    /** @param jxen the command that runs jxen's CLI (java ... JxenCommand) */
    public NetBench(List<String> jxen, int seconds) {
        this.jxen = List.copyOf(jxen);
        this.seconds = seconds;
    }

    /** What one side measured. */
    private record Figures(double tcp, double tcpDom0, double pps, double cpuUsPerPacket, double p50, double p99) {}

    /** Runs both sides; {@code dir} (the host's run directory, configs, its log) is removed after. */
    public List<Row> run(Path dir) throws Exception {
        String tag = "jxb" + ProcessHandle.current().pid() + "-" + ThreadLocalRandom.current().nextInt(1000);
        Figures floor = veth(tag);
        Figures guests;
        try {
            guests = guests(tag, dir);
        } finally {
            try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
        String t = "(iperf3 " + seconds + " s)";
        return List.of(new Row("TCP guest-to-guest, Gb/s " + t, guests.tcp(), floor.tcp(), "Gb/s"),
                new Row("TCP guest-to-dom0, Gb/s " + t, guests.tcpDom0(), floor.tcp(), "Gb/s"),
                new Row("UDP " + UDP_PAYLOAD + " B, kpackets/s (" + UDP_FLOWS + " flows, " + queues + " queues)",
                        guests.pps() / 1000, floor.pps() / 1000, "kpps"),
                new Row("CPU per UDP packet, us (all processes)", guests.cpuUsPerPacket(), floor.cpuUsPerPacket(), "us"),
                new Row("ping round trip p50, us", guests.p50(), floor.p50(), "us"),
                new Row("ping round trip p99, us", guests.p99(), floor.p99(), "us"));
    }

    /** The floor: a veth pair between namespaces A and B. */
    private Figures veth(String tag) throws Exception {
        String a = tag + "-a";
        String b = tag + "-b";
        run("ip", "netns", "add", a);
        try {
            run("ip", "netns", "add", b);
            try {
                run("ip", "-n", a, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", b);
                run("ip", "-n", a, "addr", "add", "10.9.0.1/24", "dev", "v0");
                run("ip", "-n", b, "addr", "add", "10.9.0.2/24", "dev", "v1");
                run("ip", "-n", a, "link", "set", "v0", "up");
                run("ip", "-n", b, "link", "set", "v1", "up");
                List<String> server = List.of("ip", "netns", "exec", a);
                List<String> client = List.of("ip", "netns", "exec", b);
                double tcp = tcp(server, client, "10.9.0.1");
                long pid = ProcessHandle.current().pid();
                double[] udp = udp(server, client, "10.9.0.1", () -> Cpu.childrenTicks(pid));
                double[] ping = ping(client, "10.9.0.1");
                return new Figures(tcp, tcp, udp[0], udp[1], ping[0], ping[1]);
            } finally {
                run("ip", "netns", "del", b);
            }
        } finally {
            run("ip", "netns", "del", a);
        }
    }

    /** Two guests on a host inside namespace {@code tag}; dom0 has 10.8.0.254 on xenbr0. */
    private Figures guests(String tag, Path dir) throws Exception {
        String ns = tag + "-host";
        run("ip", "netns", "add", ns);
        Process host = null;
        try {
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
            cmd.addAll(jxen);
            cmd.addAll(List.of("host", "--run-dir", dir.resolve("run").toString(), "--bridge", "xenbr0"));
            Path log = dir.resolve("host.log");
            host = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            for (int i = 0; i < 1200 && !Files.readString(log).contains("jxen host: xenstored on"); i++) {
                if (!host.isAlive()) throw new IOException("host died: " + Files.readString(log));
                Thread.sleep(50);
            }
            List<String> xl = new ArrayList<>(List.of("ip", "netns", "exec", ns));
            xl.addAll(jxen);
            xl.addAll(List.of("xl", "-H", dir.resolve("run").toString()));
            for (int g = 1; g <= 2; g++) {
                Path cfg = dir.resolve("b" + g + ".cfg");
                Files.writeString(cfg, "name = 'b" + g + "'\nvif = [ 'ip=10.8.0." + g + "/24' ]\n");
                run(concat(xl, "create", cfg.toString()));
            }
            run("ip", "-n", ns, "addr", "add", "10.8.0.254/24", "dev", "xenbr0");
            Matcher q = Pattern.compile("vif1\\.0 connected, (\\d+) queue").matcher(exec(concat(xl, "dmesg")));
            queues = q.find() ? Integer.parseInt(q.group(1)) : 0;
            List<String> b1 = concat(xl, "exec", "b1", "--");
            List<String> b2 = concat(xl, "exec", "b2", "--");
            double tcp = tcp(b2, b1, "10.8.0.2");
            double tcpDom0 = tcp(List.of("ip", "netns", "exec", ns), b1, "10.8.0.254");
            long hostPid = host.pid();
            double[] udp = udp(b2, b1, "10.8.0.2", () -> Cpu.treeTicks(hostPid));
            double[] ping = ping(b1, "10.8.0.2");
            return new Figures(tcp, tcpDom0, udp[0], udp[1], ping[0], ping[1]);
        } finally {
            if (host != null) {
                host.destroy();
                if (!host.waitFor(60, TimeUnit.SECONDS)) host.destroyForcibly().waitFor();
            }
            run("ip", "netns", "del", ns);
        }
    }

    /**
     * iperf3 TCP from {@code client} to a server in {@code server} at {@code addr}: Gb/s received, after a 1 s run
     * that is not counted (the JIT compiles the drivers' paths in it, as a guest that has been up a while has).
     */
    private double tcp(List<String> server, List<String> client, String addr) throws Exception {
        iperf(server, client, addr, 1);
        String out = iperf(server, client, addr, seconds);
        Matcher m = Pattern.compile("([0-9.]+) ([GMK])bits/sec\\s+receiver").matcher(out);
        if (!m.find()) return Double.NaN;
        double v = Double.parseDouble(m.group(1));
        return switch (m.group(2)) { case "G" -> v; case "M" -> v / 1000; default -> v / 1e6; };
    }

    /**
     * iperf3 UDP, {@link #UDP_FLOWS} flows of {@link #UDP_PAYLOAD}-byte datagrams as fast as the sender can: packets
     * received per second, and the CPU microseconds {@code ticks} grew by per packet received.
     */
    private double[] udp(List<String> server, List<String> client, String addr, Cpu.Ticks ticks) throws Exception {
        long before = ticks.now();
        String out = iperf(server, client, addr, seconds, "-u", "-b", "0", "-l", Integer.toString(UDP_PAYLOAD), "-P",
                Integer.toString(UDP_FLOWS));
        long used = ticks.now() - before;
        // "... jitter  LOST/TOTAL (P%)  receiver"; with -P the [SUM] line comes last.
        Matcher m = Pattern.compile("(\\d+)/(\\d+) \\([^)]*\\)\\s+receiver").matcher(out);
        long received = -1;
        while (m.find()) received = Long.parseLong(m.group(2)) - Long.parseLong(m.group(1));
        if (received <= 0) return new double[] {Double.NaN, Double.NaN};
        return new double[] {received / (double) seconds, Cpu.microseconds(used) / (double) received};
    }

    /** One iperf3 run (a one-off server, the client retried until the server listens): the client's output. */
    private String iperf(List<String> server, List<String> client, String addr, int secs, String... extra)
            throws Exception {
        CompletableFuture<String> srv = CompletableFuture.supplyAsync(() -> {
            try {
                return exec(concat(server, "iperf3", "-s", "-1", "-B", addr));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        String out = "";
        for (int i = 0; i < 100; i++) {
            List<String> c = concat(client, "iperf3", "-c", addr, "-t", Integer.toString(secs));
            c.addAll(List.of(extra));
            out = exec(c);
            if (out.contains("receiver")) break;
            Thread.sleep(200);
        }
        srv.get(2, TimeUnit.MINUTES);
        return out;
    }

    /**
     * 1000 pings `ping -f` style (each sent when the last reply is in: {@code -i 0}, root only, with the per-reply
     * lines flood mode leaves out): p50 and p99 in us.
     */
    private static double[] ping(List<String> client, String addr) throws Exception {
        // Sorted and cut to the two figures in the guest: a guest's xl exec output travels through its store quota.
        String ping = exec(concat(client, "sh", "-c", "ping -c 1000 -i 0 -n " + addr
                + " | sed -n 's/.*time=\\([0-9.]*\\) ms.*/\\1/p' | sort -n"
                + " | awk '{t[NR]=$1} END {if (NR) print t[int(NR/2)+1], t[(NR*99/100 < NR - 1 ? int(NR*99/100) : NR - 1) + 1]}'"));
        String[] f = ping.strip().split("\\s+");
        if (f.length != 2) return new double[] {Double.NaN, Double.NaN};
        return new double[] {Double.parseDouble(f[0]) * 1000, Double.parseDouble(f[1]) * 1000};
    }

    private static List<String> concat(List<String> a, String... b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(b));
        return out;
    }

    private static void run(String... argv) throws Exception {
        run(List.of(argv));
    }

    private static void run(List<String> argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IOException(String.join(" ", argv) + ": " + out.strip());
    }

    private static String exec(List<String> argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    /** The table: each figure beside the floor, and their ratio. */
    public static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-50s %10s %10s %7s%n", "", "guests", "veth pair", "ratio"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-50s %10.2f %10.2f %7.2f%n", r.what(), r.guests(), r.veth(),
                    r.guests() / r.veth()));
        }
        return b.toString();
    }
}
