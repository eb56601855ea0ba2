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
 * {@code jxen bench net}: TCP throughput (iperf3) and ping round trips between two guests on xenbr0, beside the
 * same over a plain veth pair between two network namespaces (the floor: Linux alone). Everything runs in
 * namespaces made for the run (the host itself inside one, as {@code ip netns exec NS jxen host}) and removed
 * after; the machine's own interfaces are not touched. Reported, not asserted.
 */
public final class NetBench {
    public record Row(String what, double guests, double veth, String unit) {}

    private final List<String> jxen;
    private final int seconds;

    /** @param jxen the command that runs jxen's CLI (java ... JxenCommand) */
    public NetBench(List<String> jxen, int seconds) {
        this.jxen = List.copyOf(jxen);
        this.seconds = seconds;
    }

    public List<Row> run(Path dir) throws Exception {
        String tag = "jxb" + ProcessHandle.current().pid() + "-" + ThreadLocalRandom.current().nextInt(1000);
        double[] floor = veth(tag);
        double[] guests = guests(tag, dir);
        return List.of(new Row("TCP guest-to-guest, Gb/s (iperf3 " + seconds + " s)", guests[0], floor[0], "Gb/s"),
                new Row("ping round trip p50, us", guests[1], floor[1], "us"),
                new Row("ping round trip p99, us", guests[2], floor[2], "us"));
    }

    /** The floor: a veth pair between namespaces A and B. */
    private double[] veth(String tag) throws Exception {
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
                return measure(List.of("ip", "netns", "exec", a), List.of("ip", "netns", "exec", b), "10.9.0.1");
            } finally {
                run("ip", "netns", "del", b);
            }
        } finally {
            run("ip", "netns", "del", a);
        }
    }

    /** Two guests on a host inside namespace {@code tag}. */
    private double[] guests(String tag, Path dir) throws Exception {
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
            return measure(concat(xl, "exec", "b1", "--"), concat(xl, "exec", "b2", "--"), "10.8.0.1");
        } finally {
            if (host != null) {
                host.destroy();
                if (!host.waitFor(60, TimeUnit.SECONDS)) host.destroyForcibly().waitFor();
            }
            run("ip", "netns", "del", ns);
        }
    }

    /** iperf3 from {@code client} to a server in {@code server} at {@code addr}, then pings: Gb/s, p50 and p99 us. */
    private double[] measure(List<String> server, List<String> client, String addr) throws Exception {
        CompletableFuture<String> srv = CompletableFuture.supplyAsync(() -> {
            try {
                return exec(concat(server, "iperf3", "-s", "-1", "-B", addr));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        String out = "";
        for (int i = 0; i < 100; i++) {
            out = exec(concat(client, "iperf3", "-c", addr, "-t", Integer.toString(seconds)));
            if (out.contains("receiver")) break;
            Thread.sleep(200);
        }
        srv.get(2, TimeUnit.MINUTES);
        Matcher m = Pattern.compile("([0-9.]+) ([GMK])bits/sec\\s+receiver").matcher(out);
        double gbps = Double.NaN;
        if (m.find()) {
            double v = Double.parseDouble(m.group(1));
            gbps = switch (m.group(2)) { case "G" -> v; case "M" -> v / 1000; default -> v / 1e6; };
        }
        // Only the times come back (a guest's xl exec output travels through its store quota).
        String ping = exec(concat(client, "sh", "-c", "ping -c 200 -i 0.005 -n " + addr + " | grep -o 'time=[0-9.]* ms'"));
        List<Double> rtts = new ArrayList<>();
        Matcher t = Pattern.compile("time=([0-9.]+) ms").matcher(ping);
        while (t.find()) rtts.add(Double.parseDouble(t.group(1)) * 1000);
        rtts.sort(null);
        double p50 = rtts.isEmpty() ? Double.NaN : rtts.get(rtts.size() / 2);
        double p99 = rtts.isEmpty() ? Double.NaN : rtts.get(Math.min(rtts.size() - 1, (int) (rtts.size() * 0.99)));
        return new double[] {gbps, p50, p99};
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
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-44s %10s %10s %7s%n", "", "guests", "veth pair", "ratio"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-44s %10.2f %10.2f %7.2f%n", r.what(), r.guests(), r.veth(),
                    r.guests() / r.veth()));
        }
        return b.toString();
    }
}
