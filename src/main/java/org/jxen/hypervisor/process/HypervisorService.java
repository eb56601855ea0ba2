package org.jxen.hypervisor.process;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.jxen.hypervisor.ControlPlane;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.RunDir;

/**
 * Serves hypercalls to guest processes on {@code <runDir>/hv.sock} ({@link Rpc} documents the protocol) and
 * starts those processes. A process proves which domain it is with a random token the host handed it in its
 * environment; one connection per domain at a time. When a guest's process exits or its connection drops, the
 * hypervisor is told ({@link Hypervisor#processGone}): the domain is marked crashed unless it had shut down, and
 * dom0 hears of it on VIRQ_DOM_EXC.
 */
public final class HypervisorService implements AutoCloseable {
    /**
     * A guest process is a small JVM: C1 only on one compiler thread, the serial collector with a heap that starts
     * at 4 MB and gives back what it stops using (guest memory itself is the domain's file, not Java heap), malloc
     * trimmed every second, no perf-data file. {@code ArchiveRelocationMode=0} maps the JDK's class-data archive at
     * the address it was built for, so its pages stay shared with every other guest instead of being relocated into
     * private copies (JDK 20 made relocation the default): 6 MB a guest. Together they take a guest's private
     * memory from about 50 MB to 22 MB (docs/host.md, "Guest processes"), which is what decides how many fit;
     * a {@link GuestClassArchive} of jxen's own classes takes it to about 17 MB.
     */
    public static final List<String> DEFAULT_GUEST_JVM_OPTIONS = List.of("-Xshare:auto", "-XX:+UnlockDiagnosticVMOptions",
            "-XX:ArchiveRelocationMode=0", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:+UseSerialGC",
            "-Xms4m", "-Xmx64m", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30", "-XX:TrimNativeHeapInterval=1000",
            "-XX:-UsePerfData");
    private volatile List<String> guestJvmOptions = DEFAULT_GUEST_JVM_OPTIONS;
    public static final String TOKEN_ENV = "JXEN_GUEST_TOKEN";
    /** Extra JVM options for guest processes, after {@link #DEFAULT_GUEST_JVM_OPTIONS} (docs/host.md). */
    public static final String GUEST_JAVA_OPTS_ENV = "JXEN_GUEST_JAVA_OPTS";
    /** The suffix of the files naming guest processes' pids in the hypervisor's directory. */
    public static final String PID_SUFFIX = ".pid";

    private final Hypervisor hv;
    private final ServerSocketChannel server;
    private final Path socketPath;
    private final SecureRandom random = new SecureRandom();
    private final Map<Integer, String> tokens = new HashMap<>();
    private final Map<Integer, Integer> serials = new HashMap<>();
    private final Map<Integer, Boolean> connected = new HashMap<>();
    private final List<Process> processes = new ArrayList<>();
    private final Thread acceptor;

    private HypervisorService(Hypervisor hv) throws IOException {
        this.hv = hv;
        this.socketPath = hv.directory().resolve(RunDir.SOCKET);
        Files.deleteIfExists(socketPath);
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socketPath));
        this.acceptor = Thread.ofPlatform().daemon().name("hv-service").start(this::accept);
    }

    public static HypervisorService start(Hypervisor hv) throws IOException {
        return new HypervisorService(hv);
    }

    public Hypervisor hypervisor() {
        return hv;
    }

    public Path socketPath() {
        return socketPath;
    }

    private void accept() {
        while (true) {
            try {
                SocketChannel s = server.accept();
                Thread.ofPlatform().daemon().name("hv-session").start(new ServiceSession(this, s));
            } catch (ClosedChannelException closed) {
                return;
            } catch (IOException e) {
                System.err.println("hv-service: accept failed: " + e);
                return;
            }
        }
    }

    /** A fresh secret for the process that will run {@code domid}; invalidates any earlier one. */
    public synchronized String issueToken(int domid) throws HypercallException {
        byte[] b = new byte[16];
        random.nextBytes(b);
        String token = HexFormat.of().formatHex(b);
        tokens.put(domid, token);
        serials.put(domid, hv.serial(domid));
        return token;
    }

    synchronized ControlPlane authenticate(int domid, String token) throws HypercallException {
        String expected = tokens.get(domid);
        if (expected == null || !java.security.MessageDigest.isEqual(expected.getBytes(), token.getBytes())) {
            throw new HypercallException(Errno.EACCES, "bad token for d" + domid);
        }
        if (hv.serial(domid) != serials.get(domid)) throw new HypercallException(Errno.ESRCH, "d" + domid + " is gone");
        if (connected.putIfAbsent(domid, Boolean.TRUE) != null) {
            throw new HypercallException(Errno.EBUSY, "d" + domid + " is already connected");
        }
        return hv.controlPlane(domid);
    }

    void sessionEnded(int domid) {
        Integer serial;
        synchronized (this) {
            connected.remove(domid);
            serial = serials.get(domid);
        }
        if (serial != null) hv.processGone(domid, serial);
    }

    /**
     * JVM options of guest processes launched from now on. By default C1 only: a guest boots in a fraction of the
     * CPU time, which matters with hundreds of them; a long-running data path (the block benchmark's guest)
     * wants the full tiered JIT instead.
     */
    public void setGuestJvmOptions(List<String> options) {
        guestJvmOptions = List.copyOf(options);
    }

    /** The class-data archive for guests of these options (GuestClassArchive), one per set of options. */
    private synchronized GuestClassArchive classArchive(String java, List<String> options, String classPath) {
        return classArchives.computeIfAbsent(options, o -> GuestClassArchive.of(java, o, classPath, hv.directory()));
    }

    private final Map<List<String>, GuestClassArchive> classArchives = new HashMap<>();

    /** Domain id -> pid of the process launched for it (the latest). */
    private final java.util.Map<Integer, Long> launched = new java.util.HashMap<>();

    /** The pid of the process this service launched for {@code domid} and that still runs, or -1. */
    synchronized long launchedPid(int domid) {
        Long pid = launched.get(domid);
        if (pid == null) return -1;
        return ProcessHandle.of(pid).map(h -> h.isAlive() ? pid : -1L).orElse(-1L);
    }

    /**
     * Starts {@code java -cp <our class path> GuestMain <socket> <domid> <kernelClass> <args...>} for an existing
     * domain, with its token in the environment. The process's exit is reported as {@link #sessionEnded} would.
     */
    public Process launch(int domid, String kernelClass, String... args) throws IOException, HypercallException {
        return launch(domid, List.of(), kernelClass, args);
    }

    /**
     * As {@link #launch(int, String, String...)} with {@code extraClassPath} (jars of the guest's kernel image)
     * in front of our class path.
     */
    public Process launch(int domid, List<Path> extraClassPath, String kernelClass, String... args)
            throws IOException, HypercallException {
        String token = issueToken(domid);
        int serial = hv.serial(domid);
        List<String> cmd = new ArrayList<>();
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add(java);
        cmd.add("--enable-native-access=ALL-UNNAMED");
        // The user's own options for guest JVMs come last, so that they win over ours (the launcher's
        // $JXEN_JAVA_OPTS is the host's).
        List<String> options = new ArrayList<>(guestJvmOptions);
        String extra = System.getenv(GUEST_JAVA_OPTS_ENV);
        if (extra != null && !extra.isBlank()) options.addAll(List.of(extra.strip().split("\\s+")));
        cmd.addAll(options);
        String ownClassPath = System.getProperty("java.class.path");
        if (extraClassPath.isEmpty() && GuestClassArchive.possibleFor(ownClassPath)) {
            cmd.addAll(classArchive(java, options, ownClassPath).options());
        }
        cmd.add("-cp");
        List<String> classPath = new ArrayList<>();
        for (Path p : extraClassPath) classPath.add(p.toAbsolutePath().toString());
        classPath.add(ownClassPath);
        cmd.add(String.join(File.pathSeparator, classPath));
        cmd.add(GuestMain.class.getName());
        // Absolute: a host started after a crash recognises a leftover guest by this path in its command line.
        cmd.add(socketPath.toAbsolutePath().toString());
        cmd.add(Integer.toString(domid));
        cmd.add(kernelClass);
        cmd.addAll(List.of(args));
        // stdin is the guest's lifeline: only this process holds the pipe's other end (a child closes every
        // inherited descriptor above 2), so the guest reads EOF when the host is gone, however it ended.
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.PIPE)
                .redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put(TOKEN_ENV, token);
        pb.environment().put(HostWatch.LIFELINE_ENV, HostWatch.LIFELINE_STDIN);
        Process p = pb.start();
        synchronized (this) {
            processes.add(p);
            launched.put(domid, p.pid());
        }
        Path pidFile = pidFile(hv.directory(), domid);
        writePidFile(pidFile, p.pid());
        // A thread of its own, not p.onExit(): that future completes on the common pool, which has a single worker
        // on a 2-CPU machine, so any task blocked there would hold up the report of the guest's death.
        Thread.ofPlatform().daemon().name("d" + domid + "-exit").start(() -> {
            while (true) {
                try {
                    p.waitFor();
                    break;
                } catch (InterruptedException e) {
                    // Nobody interrupts this thread; keep waiting for the process, whose death must be reported.
                }
            }
            deletePidFile(pidFile, p.pid());
            hv.processGone(domid, serial);
        });
        return p;
    }

    /**
     * Where the host records the pid of the process running {@code domid}, from launch until the process is seen
     * to exit: {@code <hv dir>/d<domid>.pid}. A host started after a crash reaps the processes these name.
     */
    public static Path pidFile(Path hvDirectory, int domid) {
        return hvDirectory.resolve("d" + domid + PID_SUFFIX);
    }

    private static void writePidFile(Path file, long pid) {
        try {
            Files.writeString(file, pid + "\n");
        } catch (IOException e) {
            System.err.println("hv-service: cannot write " + file + ": " + e.getMessage());
        }
    }

    /** Deletes the pid file if it still names {@code pid} (a new process of the same domid may have replaced it). */
    private static void deletePidFile(Path file, long pid) {
        try {
            if (Files.readString(file).strip().equals(Long.toString(pid))) Files.deleteIfExists(file);
        } catch (IOException e) {
            // Gone already.
        }
    }

    @Override
    public void close() {
        try {
            server.close();
            acceptor.join(5000);
            Files.deleteIfExists(socketPath);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Process> all;
        List<GuestClassArchive> archives;
        synchronized (this) {
            all = new ArrayList<>(processes);
            archives = new ArrayList<>(classArchives.values());
        }
        for (GuestClassArchive a : archives) a.close();
        for (Process p : all) {
            p.destroyForcibly();
            try {
                p.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // The exit threads delete these too, but they are daemons: the JVM may end before they run.
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(hv.directory(), "d*" + PID_SUFFIX)) {
            for (Path f : pids) {
                for (Process p : all) {
                    if (!p.isAlive()) deletePidFile(f, p.pid());
                }
            }
        } catch (IOException e) {
            System.err.println("hv-service: removing pid files: " + e.getMessage());
        }
    }
}
