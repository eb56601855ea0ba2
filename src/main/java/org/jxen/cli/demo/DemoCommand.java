package org.jxen.cli.demo;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.jxen.bench.ScratchDir;
import org.jxen.cli.demo.HandshakeDiagram.Column;
import org.jxen.kernel.ModuleDirectory;
import org.jxen.toolstack.ConsoleLog;
import org.jxen.toolstack.DevicePaths;
import org.jxen.toolstack.DeviceSpec;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.Libxl;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstored.engine.Connection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jxen demo}: the seed's story in one command. A host starts in this JVM with a device class's backend in
 * dom0, a guest boots with its frontend, the toolstack attaches the device, and the handshake is drawn as it
 * happens in the style of the 2005 mail, then the ring message and the orderly closedown. The device is the
 * seed's mydevice unless {@code --device} names another class, whose modules (by default CLASSfront and
 * CLASSback) may come from jars of the reader's own ({@code --module-path}, docs/tutorial.md).
 *
 * <p>The demo attaches the device once the guest's frontend module has loaded: when the guest's log shows the
 * line after {@code modprobe FRONTEND}, the module's own first line (the blog's {@code Hello World!}). It closes
 * the device down once both ends are Connected and, with {@code --until TEXT}, the guest has logged a line
 * containing TEXT (the answer over the ring; mydevice's is {@code Hello world}).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Boot a host and a guest, attach a device (mydevice unless --device), and draw the xenbus"
                + " handshake as it happens.")
public final class DemoCommand implements Callable<Integer> {
    /** The seed's device, and the answer its frontend logs when it comes over the ring. */
    static final String MYDEVICE = "mydevice";
    static final String MYDEVICE_ANSWER = "Hello world";

    @Option(names = "--step", description = "Pause at each event until Enter is pressed.")
    boolean step;

    @Option(names = "--trace", paramLabel = "FILE", description = "Also write every event as a JSON line.")
    Path trace;

    @Option(names = "--run-dir", paramLabel = "DIR", description = "Where the host keeps its files (default: a temp dir).")
    Path runDir;

    @Option(names = "--module-path", paramLabel = "JAR[:JAR...]", split = ":",
            description = "Jars of kernel modules (yours: docs/tutorial.md) for dom0 and the guest, as jxen host's.")
    java.util.List<Path> modulePath = new java.util.ArrayList<>();

    @Option(names = "--device", paramLabel = "CLASS", defaultValue = MYDEVICE,
            description = "The device class to attach (its XenStore directory name; default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--frontend", paramLabel = "MODULE",
            description = "The guest's frontend module (default: CLASS followed by front, e.g. mydevicefront).")
    String frontend;

    @Option(names = "--backend", paramLabel = "MODULE",
            description = "dom0's backend module, loaded unless dom0 has it built in (default: CLASS followed by back).")
    String backend;

    @Option(names = "--until", paramLabel = "TEXT",
            description = "Close down once the guest has logged a line containing TEXT, the answer over the ring"
                    + " (default for mydevice: \"" + MYDEVICE_ANSWER + "\"; for other classes: once both ends are"
                    + " Connected).")
    String until;

    @Option(names = "--no-disk", description = "Leave out the second story, a disk attached with its block hotplug script"
            + " (told after mydevice's, not after another --device's).")
    boolean noDisk;

    private final PrintStream out = System.out;
    private final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    private HandshakeDiagram diagram;

    @Override
    public Integer call() throws Exception {
        String missing = missingModules();
        if (missing != null) {
            System.err.println("jxen demo: " + missing);
            return 1;
        }
        ScratchDir scratch = runDir == null ? ScratchDir.create("jxen-demo") : null;
        try (scratch; Writer json = trace == null ? Writer.nullWriter() : Files.newBufferedWriter(trace)) {
            this.json = json;
            run(scratch != null ? scratch.path() : runDir);
        }
        return 0;
    }

    private String frontModule() {
        return frontend != null ? frontend : device + "front";
    }

    private String backModule() {
        return backend != null ? backend : device + "back";
    }

    private java.util.List<Path> jars() {
        return modulePath.stream().map(p -> p.toAbsolutePath().normalize()).toList();
    }

    /** What is wrong when jxen and the module path do not have both modules (null: they have). */
    private String missingModules() {
        java.util.List<String> names;
        if (modulePath.isEmpty()) {
            names = ModuleDirectory.classPath().names();
        } else {
            try (java.net.URLClassLoader jars = ModuleDirectory.jarLoader(jars())) {
                names = ModuleDirectory.of(jars).names();
            } catch (java.io.IOException e) {
                return "--module-path: " + e.getMessage();
            }
        }
        java.util.List<String> missing = java.util.stream.Stream.of(frontModule(), backModule())
                .filter(n -> !names.contains(n)).toList();
        if (missing.isEmpty()) return null;
        return "no kernel module " + String.join(" or ", missing) + " in jxen" + (modulePath.isEmpty() ? ""
                : " or " + modulePath.stream().map(Path::toString).collect(java.util.stream.Collectors.joining(":")))
                + " (modules: " + String.join(", ", names) + "; a jar of your own goes on --module-path)";
    }

    private Writer json = Writer.nullWriter();

    /** One line of --trace: every event shown is one, in the order shown. */
    private synchronized void traceLine(String line) {
        try {
            json.write(line);
            json.write('\n');
            json.flush();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String jsonString(String s) {
        return "\"" + HandshakeObserver.Step.esc(s) + "\"";
    }

    private void run(Path dir) throws Exception {
        String front = frontModule();
        String back = backModule();
        String answer = until != null ? until : device.equals(MYDEVICE) ? MYDEVICE_ANSWER : null;
        DeviceSpec spec = new DeviceSpec(device, 0, 0);
        // The kernel logs already tell what the host's INFO lines would.
        java.util.logging.Logger.getLogger("jxen.host").setLevel(java.util.logging.Level.WARNING);
        diagram = new HandshakeDiagram(out);
        drawing = false;
        out.println("Starting a jxen host in " + dir + " (hypervisor, dom0 with the " + device + " backend, xenstored).");
        try (Host host = Host.startEmbedded(dir, false, jars());
                XsClient toolstack = new XsClient(host.xenstored().connectInProcess(0))) {
            java.util.function.Function<Connection, Column> writer = writers(host);
            host.dom0Kernel().log().addSink(line -> kernelLine(Column.BACKEND, "dom0", line));
            for (String line : host.dom0Kernel().log().lines()) kernelLine(Column.BACKEND, "dom0", line);
            // mydeviceback is built into dom0's kernel; another backend is loaded as insmod would.
            if (!host.dom0Kernel().modules().contains(back)) host.dom0Kernel().insmod(back, java.util.List.of());

            Host.Guest guest = host.create(new GuestConfig("demo-guest", 16, 1, GuestConfig.MODULAR_KERNEL,
                    java.util.List.of(org.jxen.kernel.CommandLine.MODULES_LOAD + front,
                            // One queue: the disk's handshake is drawn with one ring, not one per CPU.
                            "blkfront.max_queues=1"), false));
            int domid = guest.domid();
            ConsoleLog console = host.consoleLog(domid);
            CountDownLatch message = new CountDownLatch(answer == null ? 0 : 1);
            CountDownLatch loaded = new CountDownLatch(1);
            String modprobe = "modprobe " + front;
            boolean[] afterModprobe = {false};
            Consumer<String> guestLine = line -> {
                kernelLine(Column.FRONTEND, "dom" + domid, line);
                // The frontend's init has run once the line after its modprobe line is in: its own first line.
                if (afterModprobe[0]) loaded.countDown();
                if (line.equals(modprobe)) afterModprobe[0] = true;
                if (answer != null && line.contains(answer)) message.countDown();
            };
            // The lines so far, then the new ones, each once and in order (a new one may come while the old
            // ones are gone through).
            Object order = new Object();
            java.util.List<String> early = new java.util.ArrayList<>();
            boolean[] caughtUp = {false};
            java.util.List<String> before = console.follow(new ConsoleLog.Follower(line -> {
                synchronized (order) {
                    if (caughtUp[0]) guestLine.accept(line);
                    else early.add(line);
                }
            }, () -> {}));
            synchronized (order) {
                before.forEach(guestLine);
                early.forEach(guestLine);
                caughtUp[0] = true;
            }
            out.println("Booted guest \"demo-guest\" as domain " + domid + " with the " + device + " frontend loaded.");
            await(loaded, "the guest's " + front + " to load (the line it logs after `" + modprobe + "`)");

            DevicePaths paths = DevicePaths.of(domid, spec);
            out.println();
            out.println("xl device-attach " + domid + " " + device + " 0: libxl writes both directories in one transaction.");
            out.println("  frontend " + paths.frontend());
            out.println("  backend  " + paths.backend());
            out.println();
            synchronized (this) {
                diagram.header("dom0", "dom" + domid);
                drawing = true;
            }
            connected = new CountDownLatch(2);
            observe(host, paths, writer);
            Duration wait = step ? Duration.ofDays(1) : Duration.ofSeconds(40);
            // The toolstack has a XenStore connection of its own, as xl has, so its writes are told from dom0's.
            Path block = org.jxen.toolstack.DiskSpec.blockScript();
            Libxl libxl = new Libxl(toolstack, block == null ? Map.of() : Map.of("vbd", block),
                    Map.of("XENSTORED_PATH", host.xenstoredSocket().toString()), new Libxl.Timeouts(wait, wait, wait),
                    w -> out.println("warning: " + w));
            libxl.setHotplugListener(this::hotplugStarted);
            libxl.addDevice(domid, spec);
            await(connected, "both ends to reach Connected");
            await(message, "the answer over the ring (a line of the guest's log containing \"" + answer + "\")");
            synchronized (this) {
                diagram.banner((answer == null ? "Both ends are Connected."
                        : "The frontend's request went over the shared ring; the backend's answer came back: \""
                                + answer + "\".") + " Now an orderly closedown (xl device-detach):");
            }
            libxl.removeDevice(domid, spec);
            observe(host, null, writer);
            synchronized (this) {
                drawing = false;
            }
            if (!noDisk && device.equals(MYDEVICE)) {
                if (block == null) {
                    out.println();
                    out.println("No block hotplug script (scripts/hotplug/block) beside jxen: the disk is left out.");
                } else {
                    diskStory(host, domid, libxl, dir, writer);
                }
            }
            synchronized (this) {
                out.println();
                out.println("Shutting the guest down (xl shutdown " + domid + ").");
            }
            libxl.requestShutdown(domid, "poweroff");
            awaitGone(host, domid);
        }
        out.println("Done: the host is down and its files are gone.");
    }

    /** Counts each end's first Connected (set before the device is attached). */
    private CountDownLatch connected;
    private boolean frontConnected;
    private boolean backConnected;

    private synchronized void draw(HandshakeObserver.Step s) {
        traceLine(s.json());
        String state = s.stateName();
        Column by = s.by();
        if (by == Column.TOOLSTACK || by == Column.HOTPLUG) {
            // The toolstack writes both directories: fe/ and be/ say which.
            String dirTag = s.column() == Column.FRONTEND ? "fe" : "be";
            String what = by == Column.TOOLSTACK ? dirTag + (s.key().isEmpty() ? "" : "/" + s.key()) : s.key();
            diagram.note(by, s.value() == null ? "rm " + what
                    : "write " + what + "=" + s.value() + (state != null ? " (" + state + ")" : ""));
            pause();
            return;
        }
        if ("Connected".equals(state)) {
            boolean first = by == Column.FRONTEND ? !frontConnected : !backConnected;
            if (by == Column.FRONTEND) frontConnected = true;
            else backConnected = true;
            if (first) connected.countDown();
        }
        Column other = by == Column.FRONTEND ? Column.BACKEND : Column.FRONTEND;
        if (s.value() == null) {
            diagram.note(by, s.key().isEmpty() ? "directory removed" : "rm " + s.key());
        } else if (state != null) {
            diagram.event(by, state, state.equals("Initialising") ? null : other);
        } else {
            diagram.note(by, "write " + (s.key().isEmpty() ? "." : s.key()) + "=" + s.value());
        }
        pause();
    }

    /** libxl starts a hotplug script: shown in the hotplug column, before the script's own writes. */
    private synchronized void hotplugStarted(String what, String backendPath) {
        traceLine("{\"kind\":\"hotplug\",\"nanos\":" + System.nanoTime() + ",\"script\":" + jsonString(what)
                + ",\"path\":" + jsonString(backendPath) + "}");
        if (!drawing) return;
        diagram.note(Column.HOTPLUG, "run " + what);
        pause();
    }

    /**
     * Who wrote, by the connection: the toolstack's own, a guest's ring (its kernel), a tool on the Unix socket
     * (a hotplug script's xenstore-write; nothing else uses the socket in the demo), else dom0's kernel.
     */
    private static java.util.function.Function<Connection, Column> writers(Host host) {
        // Called once the toolstack's connection exists: the newest in-process one of dom0 (dom0's kernel's is
        // the host's first; guests come over rings).
        int toolstack = host.xenstored().onLoop(e -> e.connections().stream()
                .filter(c -> c.domid == 0 && c.label.equals("inproc")).mapToInt(c -> c.id).max().orElse(-1));
        return c -> c.domid != 0 ? Column.FRONTEND
                : c.label.equals("socket") ? Column.HOTPLUG
                : c.id == toolstack ? Column.TOOLSTACK
                : Column.BACKEND;
    }

    /** Traces one device's directories from now on (null paths: stop). */
    private void observe(Host host, DevicePaths paths, java.util.function.Function<Connection, Column> writer) {
        HandshakeObserver observer = paths == null ? null
                : new HandshakeObserver(paths.frontend(), paths.backend(), writer, this::draw);
        host.xenstored().onLoop(e -> {
            e.setTracer(observer);
            return null;
        });
    }

    /**
     * The hotplug column of the mail: a disk, whose backend waits for the block script's physical-device and
     * hotplug-status before it opens the image and connects.
     */
    private void diskStory(Host host, int domid, Libxl libxl, Path dir, java.util.function.Function<Connection, Column> writer)
            throws Exception {
        Path image = dir.resolve("disk.img");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        String target = "format=raw, vdev=xvda, access=rw, target=" + image;
        DeviceSpec disk = org.jxen.toolstack.DiskSpec.parse(target).device();
        DevicePaths paths = DevicePaths.of(domid, disk);
        synchronized (this) {
            out.println();
            out.println("xl block-attach " + domid + " '" + target + "': libxl writes both directories, then runs the");
            out.println("block hotplug script, which writes physical-device and hotplug-status; blkback opens the disk");
            out.println("only then.");
            out.println("  frontend " + paths.frontend());
            out.println("  backend  " + paths.backend());
            out.println();
            diagram.header("dom0", "dom" + domid);
            frontConnected = false;
            backConnected = false;
            connected = new CountDownLatch(2);
            drawing = true;
        }
        observe(host, paths, writer);
        libxl.addDevice(domid, disk);
        await(connected, "both ends of the disk to reach Connected");
        synchronized (this) {
            diagram.banner("The disk is Connected (the guest has /dev/xvda). Now xl block-detach " + domid + " xvda:");
        }
        libxl.removeDevice(domid, disk);
        observe(host, null, writer);
        synchronized (this) {
            drawing = false;
        }
    }

    /** Kernel log lines: plain before the diagram starts, then as notes in their domain's column. */
    private synchronized void kernelLine(Column column, String domain, String line) {
        traceLine("{\"kind\":\"kernel\",\"nanos\":" + System.nanoTime() + ",\"domain\":" + jsonString(domain)
                + ",\"line\":" + jsonString(line) + "}");
        if (!drawing) out.println("  [" + domain + "] " + line);
        else diagram.note(column, domain + ": " + line);
    }

    private boolean drawing;

    private void pause() {
        if (!step) return;
        out.print("   [Enter] ");
        out.flush();
        try {
            if (in.readLine() == null) step = false;
        } catch (java.io.IOException e) {
            step = false;
        }
    }

    /** The guest powers off, the toolstack destroys it and the hypervisor forgets it. */
    private static void awaitGone(Host host, int domid) throws Exception {
        for (int i = 0; i < 600; i++) {
            if (host.domains().stream().noneMatch(d -> d.domid() == domid)) return;
            Thread.sleep(50);
        }
        throw new IllegalStateException("domain " + domid + " did not go away");
    }

    private static void await(CountDownLatch latch, String what) throws InterruptedException {
        if (!latch.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("timed out waiting for " + what);
    }
}
