package org.jxen.toolstack;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * xenstored as its own process, as dom0 runs the daemon on Xen, supervised by the host: started with the JVM
 * options jvm.options gives {@code xenstored}, its pid in {@code DIR/xenstored/pid}, its output appended to
 * {@code DIR/xenstored/log}. When it exits while the host runs (kill -9, a crash, a journal it cannot write)
 * it is started again at once on the same state directory, which it recovers; exit status 75 is a live update,
 * restarted with the build it names. Guests' rings and events reach it through the dom0 device socket; dom0's
 * own clients reconnect by themselves (XsClient.reconnecting).
 */
public final class XenstoredProcess implements AutoCloseable {
    private static final Logger LOG = System.getLogger("jxen.host");
    static final String PID = "xenstored/pid";
    static final String LOG_FILE = "xenstored/log";
    static final String STATE = "xenstored/state";
    static final String DEVICES = "xenstored/dom0.sock";
    /** LiveUpdater.EXIT_LIVE_UPDATE. */
    static final int EXIT_LIVE_UPDATE = 75;
    /** When jvm.options is not found next to the installation: the same small daemon. */
    static final List<String> DEFAULT_JVM_OPTIONS = List.of("-XX:+UseSerialGC", "-Xms8m", "-Xmx12m", "-Xmn3m",
            "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:ReservedCodeCacheSize=8m", "-Xss256k",
            "-XX:+UseCompactObjectHeaders", "-XX:-UsePerfData", "-Xshare:off");

    private final Path runDir;
    private final Path socket;
    private final boolean trace;
    private final boolean fsync;
    private final Consumer<String> report;
    private volatile Process process;
    private volatile boolean closing;
    private int starts;
    private final Thread supervisor;

    private XenstoredProcess(Path runDir, Path socket, boolean trace, boolean fsync, Consumer<String> report)
            throws IOException {
        this.runDir = runDir;
        this.socket = socket;
        this.trace = trace;
        this.fsync = fsync;
        this.report = report;
        process = launch(System.getProperty("java.class.path"), List.of());
        supervisor = Thread.ofPlatform().daemon().name("xenstored-supervisor").start(this::supervise);
    }

    /**
     * Starts the daemon on a fresh state directory (a new host's store starts empty: the domains of a previous
     * host are gone) and waits until it accepts connections.
     */
    public static XenstoredProcess start(Path runDir, Path socket, boolean trace, boolean fsync, Consumer<String> report)
            throws IOException {
        deleteTree(runDir.resolve(STATE));
        XenstoredProcess x = new XenstoredProcess(runDir, socket, trace, fsync, report);
        x.awaitListening();
        return x;
    }

    public Path stateDir() {
        return runDir.resolve(STATE);
    }

    public Path devicesSocket() {
        return runDir.resolve(DEVICES);
    }

    /** The daemon's current pid. */
    public long pid() {
        return process.pid();
    }

    private Process launch(String classPath, List<String> extra) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions());
        // As $JXEN_JAVA_OPTS for ./jxen xenstored: later options win (a bigger heap for a host with many guests).
        String more = System.getenv("JXEN_XENSTORED_JAVA_OPTS");
        if (more != null && !more.isBlank()) cmd.addAll(List.of(more.trim().split("\\s+")));
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add("org.jxen.cli.JxenCommand");
        cmd.add("xenstored");
        // Absolute: a host started after a crash recognises a leftover daemon by this socket in its command line.
        cmd.addAll(List.of("--socket", socket.toAbsolutePath().toString(),
                "--state-dir", stateDir().toAbsolutePath().toString(),
                "--dom0-devices", devicesSocket().toAbsolutePath().toString(), "--supervised"));
        if (fsync) cmd.add("--fsync");
        if (trace) cmd.addAll(List.of("--trace", runDir.resolve("xenstored/trace").toAbsolutePath().toString()));
        cmd.addAll(extra);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.PIPE)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(runDir.resolve(LOG_FILE).toFile()));
        pb.environment().put("MALLOC_ARENA_MAX", "2");
        Process p = pb.start();
        starts++;
        Files.writeString(runDir.resolve(PID), p.pid() + "\n");
        return p;
    }

    /** The {@code xenstored:} line of jvm.options next to this installation (the launcher's), else the defaults. */
    public static List<String> jvmOptions() {
        try {
            Path code = Path.of(XenstoredProcess.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path dir = code.getParent(); dir != null; dir = dir.getParent()) {
                Path f = dir.resolve("jvm.options");
                if (Files.isRegularFile(f)) {
                    for (String line : Files.readAllLines(f)) {
                        if (line.startsWith("xenstored:")) return List.of(line.substring(10).trim().split("\\s+"));
                    }
                    break;
                }
                if (dir.getNameCount() < code.getNameCount() - 3) break;
            }
        } catch (Exception e) {
            LOG.log(Level.DEBUG, "jvm.options: {0}", e.toString());
        }
        return DEFAULT_JVM_OPTIONS;
    }

    private void awaitListening() throws IOException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("xenstored exited with status " + process.exitValue() + " at start; see " + runDir.resolve(LOG_FILE));
            }
            try (var ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                ch.connect(java.net.UnixDomainSocketAddress.of(socket));
                return;
            } catch (IOException notYet) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted waiting for xenstored");
                }
            }
        }
        throw new IOException("xenstored did not listen on " + socket + " within 60 s; see " + runDir.resolve(LOG_FILE));
    }

    private void supervise() {
        while (!closing) {
            Process p = process;
            int status;
            try {
                status = p.waitFor();
            } catch (InterruptedException e) {
                if (closing) return;
                continue;
            }
            if (closing) return;
            String classPath = System.getProperty("java.class.path");
            List<String> extra = List.of();
            String why;
            if (status == EXIT_LIVE_UPDATE) {
                Path req = stateDir().resolve("live-update");
                try {
                    for (String line : Files.readAllLines(req)) {
                        if (line.startsWith("binary=") && !line.substring(7).equals("-")) {
                            classPath = line.substring(7) + java.io.File.pathSeparator + classPath;
                        }
                        if (line.startsWith("cmdline=") && !line.substring(8).isBlank()) {
                            extra = List.of(line.substring(8).trim().split("\\s+"));
                        }
                    }
                    Files.deleteIfExists(req);
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "live update request: {0}", e.toString());
                }
                why = "live update";
            } else {
                why = "exited with status " + status + (status == 137 ? " (killed)" : "");
            }
            try {
                process = launch(classPath, extra);
                report.accept("xenstored (pid " + p.pid() + ") " + why + "; started it again as pid " + process.pid()
                        + " on its saved state");
            } catch (IOException e) {
                report.accept("xenstored (pid " + p.pid() + ") " + why + "; starting it again failed: " + e.getMessage());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    @Override
    public void close() {
        closing = true;
        Process p = process;
        p.destroy();
        try {
            if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        supervisor.interrupt();
        try {
            Files.deleteIfExists(runDir.resolve(PID));
            Files.deleteIfExists(socket);
            // The store of a stopped host describes domains that are gone: nothing to keep.
            deleteTree(stateDir());
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "xenstored files: {0}", e.toString());
        }
    }
}
