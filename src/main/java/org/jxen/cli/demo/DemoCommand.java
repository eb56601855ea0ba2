package org.jxen.cli.demo;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.jxen.cli.demo.HandshakeDiagram.Column;
import org.jxen.toolstack.ConsoleLog;
import org.jxen.toolstack.DevicePaths;
import org.jxen.toolstack.DeviceSpec;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.Libxl;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jxen demo}: the seed's story in one command. A host starts in this JVM with the mydevice backend in
 * dom0, a guest boots with the mydevice frontend, the toolstack attaches the device, and the handshake is drawn
 * as it happens in the style of the 2005 mail, then the ring message and the orderly closedown.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Boot a host and a guest, attach mydevice, and draw the xenbus handshake as it happens.")
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--step", description = "Pause at each event until Enter is pressed.")
    boolean step;

    @Option(names = "--trace", paramLabel = "FILE", description = "Also write every event as a JSON line.")
    Path trace;

    @Option(names = "--run-dir", paramLabel = "DIR", description = "Where the host keeps its files (default: a temp dir).")
    Path runDir;

    private final PrintStream out = System.out;
    private final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    private HandshakeDiagram diagram;

    @Override
    public Integer call() throws Exception {
        Path dir = runDir != null ? runDir : Files.createTempDirectory("jxen-demo");
        try (Writer json = trace == null ? Writer.nullWriter() : Files.newBufferedWriter(trace)) {
            run(dir, HandshakeObserver.jsonLines(json));
        } finally {
            if (runDir == null) deleteTree(dir);
        }
        return 0;
    }

    private void run(Path dir, Consumer<HandshakeObserver.Step> json) throws Exception {
        // The kernel logs already tell what the host's INFO lines would.
        java.util.logging.Logger.getLogger("jxen.host").setLevel(java.util.logging.Level.WARNING);
        diagram = new HandshakeDiagram(out);
        drawing = false;
        out.println("Starting a jxen host in " + dir + " (hypervisor, dom0 with the mydevice backend, xenstored).");
        try (Host host = Host.start(dir, false)) {
            host.dom0Kernel().log().addSink(line -> kernelLine(Column.BACKEND, "dom0", line));
            for (String line : host.dom0Kernel().log().lines()) kernelLine(Column.BACKEND, "dom0", line);

            Host.Guest guest = host.create(new GuestConfig("demo-guest", 16, 1, GuestConfig.MODULAR_KERNEL,
                    java.util.List.of(org.jxen.kernel.CommandLine.MODULES_LOAD + "mydevicefront"), false));
            int domid = guest.domid();
            ConsoleLog console = host.consoleLog(domid);
            CountDownLatch connected = new CountDownLatch(1);
            CountDownLatch message = new CountDownLatch(1);
            CountDownLatch helloFront = new CountDownLatch(1);
            Consumer<String> guestLine = line -> {
                kernelLine(Column.FRONTEND, "dom" + domid, line);
                if (line.equals("Hello World!")) helloFront.countDown();
                if (line.equals("Other side says it is connected as well.")) connected.countDown();
                if (line.contains("Hello world")) message.countDown();
            };
            for (String line : console.follow(new ConsoleLog.Follower(guestLine, () -> {}))) guestLine.accept(line);
            out.println("Booted guest \"demo-guest\" as domain " + domid + " with the mydevice frontend loaded.");
            await(helloFront, "the guest's mydevice frontend to load");

            DeviceSpec device = new DeviceSpec("mydevice", 0, 0);
            DevicePaths paths = DevicePaths.of(domid, device);
            String front = paths.frontend();
            String back = paths.backend();
            out.println();
            out.println("xl device-attach " + domid + " mydevice 0: libxl writes both directories in one transaction.");
            out.println("  frontend " + front);
            out.println("  backend  " + back);
            out.println();
            synchronized (this) {
                diagram.header("dom0", "dom" + domid);
                drawing = true;
            }
            HandshakeObserver observer = new HandshakeObserver(front, back, s -> {
                json.accept(s);
                draw(s);
            });
            host.xenstored().onLoop(e -> {
                e.setTracer(observer);
                return null;
            });
            Duration wait = step ? Duration.ofDays(1) : Duration.ofSeconds(10);
            Libxl libxl = new Libxl(host.xenstore(), Map.of(), Map.of(), new Libxl.Timeouts(wait, wait, wait),
                    w -> out.println("warning: " + w));
            libxl.addDevice(domid, device);
            await(connected, "both ends to reach Connected");
            await(message, "the ring message");
            synchronized (this) {
                diagram.banner("The frontend's request went over the shared ring; the backend's answer came back: "
                        + "\"Hello world\". Now an orderly closedown (xl device-detach):");
            }
            libxl.removeDevice(domid, device);
            host.xenstored().onLoop(e -> {
                e.setTracer(null);
                return null;
            });
            synchronized (this) {
                drawing = false;
                out.println();
                out.println("Shutting the guest down (xl shutdown " + domid + ").");
            }
            libxl.requestShutdown(domid, "poweroff");
            awaitGone(host, domid);
        }
        out.println("Done: the host is down and its files are gone.");
    }

    private synchronized void draw(HandshakeObserver.Step s) {
        String state = s.stateName();
        Column other = s.column() == Column.FRONTEND ? Column.BACKEND : Column.FRONTEND;
        if (s.value() == null) {
            diagram.note(s.column(), s.key().isEmpty() ? "directory removed" : "rm " + s.key());
        } else if (state != null) {
            diagram.event(s.column(), state, state.equals("Initialising") ? null : other);
        } else {
            diagram.note(s.column(), "write " + (s.key().isEmpty() ? "." : s.key()) + "=" + s.value());
        }
        pause();
    }

    /** Kernel log lines: plain before the diagram starts, then as notes in their domain's column. */
    private synchronized void kernelLine(Column column, String domain, String line) {
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

    private static void deleteTree(Path dir) throws java.io.IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
