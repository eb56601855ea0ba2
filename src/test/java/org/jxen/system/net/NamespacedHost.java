package org.jxen.system.net;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.jxen.cli.JxenCommand;
import org.jxen.cli.XlResult;
import org.jxen.xenstore.testing.Await;

/**
 * A {@code jxen host} process inside a network namespace this test makes ({@code ip netns exec NS jxen host}),
 * optionally with capabilities dropped, and xl run in the same namespace, as a user on a dom0 would. Closing
 * stops the host (SIGTERM: it removes its bridge and guests) and deletes the namespace; nothing is left on the
 * machine.
 */
final class NamespacedHost implements AutoCloseable {
    final String ns;
    final Path dir;
    private final Process host;
    private final Path log;

    NamespacedHost(Path dir, List<String> wrapper) throws Exception {
        this(dir, wrapper, List.of());
    }

    /** With {@code options} after {@code jxen host --run-dir DIR}. */
    NamespacedHost(Path dir, List<String> wrapper, List<String> options) throws Exception {
        this.dir = dir;
        this.ns = "jxen-t" + ProcessHandle.current().pid() + "-" + ThreadLocalRandom.current().nextInt(100000);
        run("ip", "netns", "add", ns);
        log = dir.resolve("host.log");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        cmd.addAll(wrapper);
        cmd.addAll(java());
        cmd.addAll(List.of("host", "--run-dir", dir.resolve("run").toString())); // its default bridge: xenbr0
        cmd.addAll(options);
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            run("ip", "netns", "del", ns);
            throw e;
        }
        host = p;
        try {
            Await.until("the host's start line", () -> !p.isAlive() || output().contains("jxen host: xenstored on"), 120);
            if (!p.isAlive()) throw new AssertionError("host died: " + output());
        } catch (Throwable t) {
            close();
            throw t;
        }
    }

    static List<String> java() {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), JxenCommand.class.getName());
    }

    /** The host's pid ({@code ip netns exec} execs it; with a wrapper, the wrapper's). */
    long pid() {
        return host.pid();
    }

    String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    Path runDir() {
        return dir.resolve("run");
    }

    /** {@code xl -H RUN args} as its own process in the namespace (a vif's hotplug script runs there). */
    XlResult xl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        cmd.addAll(java());
        cmd.addAll(List.of("xl", "-H", runDir().toString()));
        cmd.addAll(List.of(args));
        return exec(cmd);
    }

    /** A command in the namespace (dom0's network). */
    XlResult inNs(String... argv) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        cmd.addAll(List.of(argv));
        return exec(cmd);
    }

    static XlResult exec(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        }, task -> Thread.ofPlatform().daemon().start(task));
        CompletableFuture<Void> watchdog = CompletableFuture.runAsync(() -> { },
                CompletableFuture.delayedExecutor(3, TimeUnit.MINUTES)).thenRun(p::destroyForcibly);
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new XlResult(p.waitFor(), out, err.get(3, TimeUnit.MINUTES));
        } finally {
            watchdog.cancel(false);
        }
    }

    static void run(String... argv) throws Exception {
        XlResult r = exec(List.of(argv));
        if (r.code() != 0) throw new IOException(String.join(" ", argv) + ": " + r.err() + r.out());
    }

    static boolean available() {
        try {
            return ProcessHandle.current().info().user().orElse("").equals("root")
                    && exec(List.of("ip", "netns", "list")).code() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    /** Links of the namespace, one name per line ({@code ip -o link}). */
    List<String> links() throws Exception {
        List<String> names = new ArrayList<>();
        for (String l : inNs("ip", "-o", "link").out().lines().toList()) {
            String[] f = l.split(": ");
            if (f.length > 1) names.add(f[1].replaceAll("@.*", ""));
        }
        return names;
    }

    @Override
    public void close() throws Exception {
        if (host.isAlive()) {
            host.destroy(); // SIGTERM: the host's shutdown hook destroys its guests and removes its bridge
            if (!host.waitFor(60, TimeUnit.SECONDS)) host.destroyForcibly().waitFor();
        }
        run("ip", "netns", "del", ns);
    }

    static boolean namespaceExists(String ns) throws Exception {
        return exec(List.of("ip", "netns", "list")).out().lines().anyMatch(l -> l.split(" ")[0].equals(ns));
    }
}
