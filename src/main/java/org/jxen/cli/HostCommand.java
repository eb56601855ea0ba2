package org.jxen.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.jxen.hypervisor.HypercallException;
import org.jxen.toolstack.ControlServer;
import org.jxen.toolstack.DomainConfig;
import org.jxen.toolstack.UserErrors;
import org.jxen.toolstack.XlCfgException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.Reaper;
import org.jxen.toolstack.RunDirLock;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jxen host}: a hypervisor, dom0 and xenstored, in the foreground until SIGTERM or SIGINT. */
@Command(name = "host", mixinStandardHelpOptions = true,
        description = "Run a jxen host: hypervisor, dom0, xenstored (tools connect to <run-dir>/xenstored/socket).")
public final class HostCommand implements Callable<Integer> {
    @Option(names = "--run-dir", required = true, paramLabel = "DIR", description = "Where the host keeps its files.")
    Path runDir;

    @Option(names = "--trace", description = "Trace xenstored to <run-dir>/xenstored/trace.")
    boolean trace;

    @Option(names = "--xenstored-fsync", description = "xenstored fsyncs its journal every loop round (acknowledged "
            + "writes survive a machine crash, not only a crash of the daemon).")
    boolean xenstoredFsync;

    @Option(names = "--module-path", paramLabel = "JAR[:JAR...]", split = ":",
            description = "Jars of kernel modules (ServiceLoader's META-INF/services/org.jxen.kernel.KernelModule): "
                    + "dom0's, and the kernel image of guests whose config has no kernel = \"JAR\".")
    List<Path> modulePath = new ArrayList<>();

    @Option(names = "--guest", paramLabel = "NAME[:inproc]",
            description = "Boot a guest running the standard kernel at start (own process unless :inproc).")
    List<String> guests = new ArrayList<>();

    @Option(names = "--bridge", paramLabel = "NAME|none", defaultValue = "xenbr0",
            description = "The bridge for vifs (default xenbr0, what vif = [''] uses): created if there is no such interface "
                    + "(and said so) and removed when the host stops; one that exists is left alone. "
                    + "none: the host leaves the network alone.")
    String bridge;

    @Option(names = "--migrate-listen", paramLabel = "[ADDRESS:]PORT",
            description = "Receive migrating domains on PORT (all addresses unless ADDRESS; xl's migrate-receive). "
                    + "Without it the host listens on a free loopback port. Either way <run-dir>/migrate.addr says where.")
    String migrateListen;

    @Option(names = "--gnttab-max-maptrack-frames", paramLabel = "N", defaultValue = "1024",
            description = "dom0's grant-mapping limit in frames of 256 handles (Xen's boot parameter; default: ${DEFAULT-VALUE}).")
    int maptrackFrames;

    @Option(names = "--uplink", paramLabel = "IFACE", description = "Make IFACE a port of the bridge (guests reach its network).")
    String uplink;

    /** --migrate-listen's address: [ADDRESS:]PORT (all addresses), else any free loopback port. */
    private java.net.InetSocketAddress migrateAddress() {
        if (migrateListen == null) return new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0);
        if (migrateListen.matches("[0-9]+")) return new java.net.InetSocketAddress(Integer.parseInt(migrateListen));
        return org.jxen.toolstack.migration.MigrationListener.parse(migrateListen);
    }

    @Override
    public Integer call() throws Exception {
        String problem = check();
        if (problem != null) {
            System.err.println("jxen host: " + problem);
            return 1;
        }
        try {
            return run();
        } catch (IOException | java.io.UncheckedIOException | HypercallException | IllegalArgumentException
                | IllegalStateException e) {
            System.err.println("jxen host: cannot start in " + runDir + ": " + UserErrors.oneLine(e));
            return 1;
        }
    }

    /** What can be refused before anything is touched: paths too long for a socket, bad or repeated --guest names. */
    private String check() {
        for (String sock : List.of(Host.XENSTORED_SOCKET, "hv/hv.sock", ControlServer.SOCKET_NAME)) {
            String p = UserErrors.socketPathProblem(runDir.resolve(sock), "--run-dir");
            if (p != null) return p;
        }
        if (Files.exists(runDir) && !Files.isDirectory(runDir)) return runDir + " exists and is not a directory";
        if (migrateListen != null) {
            try {
                java.net.InetSocketAddress a = migrateAddress();
                if (a.getPort() <= 0 || a.getPort() > 65535) return "--migrate-listen " + migrateListen + ": bad port";
            } catch (IllegalArgumentException e) {
                return "--migrate-listen " + migrateListen + ": " + e.getMessage();
            }
        }
        Set<String> names = new HashSet<>();
        for (String spec : guests) {
            String name = spec.endsWith(":inproc") ? spec.substring(0, spec.length() - ":inproc".length()) : spec;
            try {
                DomainConfig.parse("name = \"" + name.replace("\\", "\\\\").replace("\"", "\\\"") + "\"");
            } catch (XlCfgException e) {
                return "--guest " + spec + ": " + e.getMessage().replaceFirst("^line 1: ", "");
            }
            if (!names.add(name)) return "--guest " + spec + ": domain with name " + name + " already exists";
        }
        return null;
    }

    private int run() throws Exception {
        // The run directory is this host's before anything in it is touched; released when the process ends.
        RunDirLock lock;
        try {
            lock = RunDirLock.acquire(runDir);
        } catch (RunDirLock.HeldException e) {
            System.err.println("jxen host: " + e.getMessage());
            return 1;
        }
        List<String> reaped = Reaper.reap(runDir);
        for (String line : reaped) System.err.println("jxen host: " + line);
        List<Path> jars = new ArrayList<>();
        for (Path jar : modulePath) jars.add(jar.toAbsolutePath().normalize());
        Host host = Host.start(runDir, trace, jars, xenstoredFsync);
        if (maptrackFrames != org.jxen.hypervisor.GrantTable.DEFAULT_MAPTRACK_FRAMES) {
            host.setDom0GrantLimits(org.jxen.hypervisor.GrantTable.MAX_FRAMES, maptrackFrames);
        }
        for (String line : reaped) host.dom0Kernel().printk("jxen host: " + line);
        // The bridge is there before the start line (a tool that waits for it may add a vif at once); what was done
        // is said after it, which stays the first line of a host that reaped nothing.
        List<String> bridgeLines = new ArrayList<>();
        org.jxen.toolstack.HostBridge br = bridge.equals("none") ? null
                : org.jxen.toolstack.HostBridge.ensure(bridge, uplink, runDir, bridgeLines::add);
        org.jxen.toolstack.migration.MigrationRequests.install(host);
        org.jxen.toolstack.migration.MigrationListener migration;
        try {
            migration = org.jxen.toolstack.migration.MigrationListener.start(host, migrateAddress());
        } catch (IOException e) {
            host.close();
            throw new IOException("cannot listen for migrations on " + migrateListen + ": " + e.getMessage(), e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            migration.close();
            try {
                host.close();
            } catch (RuntimeException | Error e) {
                // Stopping must not end in a trace either (a domain file on a full tmpfs, say).
                System.err.println("jxen host: while stopping: " + UserErrors.oneLine(e));
            }
            if (br != null) br.close();
            try {
                lock.close();
            } catch (java.io.IOException e) {
                // The process ends next, which drops the lock anyway.
            }
            stopped.countDown();
        }, "host-shutdown"));
        for (String line : org.jxen.toolstack.HostCapacity.measure(runDir, DomainConfig.DEFAULT_MEMORY, 1)
                .lines(DomainConfig.DEFAULT_MEMORY, 1)) {
            System.err.println("jxen host: " + line);
        }
        System.err.println("jxen host: xenstored on " + host.xenstoredSocket() + ", hypervisor in " + runDir.resolve("hv")
                + ", xl control on " + host.controlSocket() + " (jxen xl -H " + runDir + " list)");
        for (String line : bridgeLines) {
            System.err.println("jxen host: " + line);
            host.dom0Kernel().printk("jxen host: " + line);
        }
        for (String spec : guests) {
            boolean inproc = spec.endsWith(":inproc");
            String name = inproc ? spec.substring(0, spec.length() - ":inproc".length()) : spec;
            Host.Guest g = host.create(GuestConfig.of(name, !inproc));
            System.err.println("jxen host: booted " + name + " as domain " + g.domid() + (inproc ? " (in-process)" : ""));
        }
        stopped.await();
        return 0;
    }
}
