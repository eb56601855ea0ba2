package org.jxen.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;

/**
 * The xenstored benchmark: for each workload and connection count, opens the connections, runs a warm-up
 * and a measured window, and reports throughput and latency percentiles. Talks raw xs_wire so that it works
 * against any daemon's Unix socket (jxen's or C's) and can pipeline. Everything it creates lives under
 * /bench, which is removed before and after.
 */
public final class XenStoreBench {
    public static final List<String> WORKLOADS = List.of("write", "read", "directory", "transaction", "watch", "echo-floor");

    /** Operations with distinct keys per connection; also the number of children of the DIRECTORY node. */
    static final int KEYS = 100;
    static final int TX_WRITES = 10;
    /** 16 bytes, the value every benchmark WRITE stores. */
    static final byte[] VALUE = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final long EVENT_TIMEOUT_SECONDS = 5;
    /** How long past the end of the window a connection may take to finish before it is cut off. */
    private static final long GRACE_NANOS = TimeUnit.SECONDS.toNanos(10);

    /**
     * @param daemonPid the daemon's process, whose CPU time per request each row reports (0: not measured)
     */
    public record Config(Path socket, List<Integer> conns, int pipeline, double seconds, double warmupSeconds,
                         List<String> workloads, long daemonPid) {
        public Config(Path socket, List<Integer> conns, int pipeline, double seconds, double warmupSeconds,
                      List<String> workloads) {
            this(socket, conns, pipeline, seconds, warmupSeconds, workloads, 0);
        }

        public Config {
            conns = List.copyOf(conns);
            workloads = List.copyOf(workloads);
            if (pipeline < 1) throw new IllegalArgumentException("pipeline must be at least 1");
            if (seconds <= 0) throw new IllegalArgumentException("seconds must be positive");
            if (conns.isEmpty() || conns.stream().anyMatch(c -> c < 1)) throw new IllegalArgumentException("conns must be positive");
            for (String w : workloads) {
                if (!WORKLOADS.contains(w)) throw new IllegalArgumentException("unknown workload " + w + "; known: " + WORKLOADS);
            }
        }
    }

    private final Config config;
    private final PrintStream progress;

    public XenStoreBench(Config config, PrintStream progress) {
        this.config = config;
        this.progress = progress;
    }

    /** The runs in order: one per workload and connection count (watch and echo-floor: one connection). */
    List<Progress.Step> plan() {
        List<Progress.Step> plan = new ArrayList<>();
        for (String w : config.workloads()) {
            switch (w) {
                case "watch", "echo-floor" -> plan.add(new Progress.Step(label(w, 1, 1), 1));
                default -> {
                    for (int c : config.conns()) plan.add(new Progress.Step(label(w, c, config.pipeline()), 1));
                }
            }
        }
        return plan;
    }

    private static String label(String workload, int conns, int pipeline) {
        return workload + " conns=" + conns + " pipeline=" + pipeline;
    }

    private Progress steps;

    public List<BenchResult> run() throws IOException {
        steps = new Progress(progress, "xenstore", plan(), config.warmupSeconds(), config.seconds());
        List<BenchResult> results = new ArrayList<>();
        try (BenchConnection admin = BenchConnection.open(config.socket())) {
            removeBench(admin);
            try {
                for (String w : config.workloads()) {
                    switch (w) {
                        case "watch" -> results.add(runWatch());
                        case "echo-floor" -> results.add(runEchoFloor());
                        default -> {
                            setup(w, admin);
                            for (int c : config.conns()) results.add(runConnections(w, config.socket(), c, config.pipeline(), operations(w)));
                        }
                    }
                }
            } catch (IOException e) {
                try {
                    removeBench(admin);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw e;
            }
            removeBench(admin);
        }
        steps.done();
        return results;
    }

    private static void removeBench(BenchConnection admin) throws IOException {
        XsMessage reply = admin.call(XsType.RM, Payloads.strings("/bench"));
        // A daemon that answers ENOENT for a missing /bench is fine: there is nothing to remove.
        if (reply.type() == XsType.ERROR.code && !Payloads.cString(reply.payload()).equals("ENOENT")) {
            throw new IOException("RM /bench failed: " + Payloads.cString(reply.payload()));
        }
    }

    private void setup(String workload, BenchConnection admin) throws IOException {
        switch (workload) {
            case "read" -> admin.callAllOk(Collections.max(config.conns()) * KEYS, i -> write(keyPath(i / KEYS, i % KEYS)), 32);
            case "directory" -> admin.callAllOk(KEYS, i -> write("/bench/dir/e" + i), 32);
            default -> { }
        }
    }

    /** Creates the operation that runs in pipeline slot {@code slot} of connection {@code conn}. */
    @FunctionalInterface
    interface OperationFactory {
        Operation create(int conn, int slot);
    }

    private static OperationFactory operations(String workload) {
        return switch (workload) {
            case "write", "echo-floor" -> (c, s) -> new Operation.Single(perKey(k -> write(keyPath(c, k))), s);
            case "read" -> (c, s) -> new Operation.Single(perKey(k -> request(XsType.READ, keyPath(c, k))), s);
            case "directory" -> (c, s) -> new Operation.Single(new XsMessage[] {request(XsType.DIRECTORY, "/bench/dir")}, 0);
            case "transaction" -> (c, s) -> {
                byte[][] writes = new byte[TX_WRITES][];
                // Own keys per slot: conflicts come only from creating siblings, which the warm-up gets past.
                for (int k = 0; k < TX_WRITES; k++) writes[k] = Payloads.pathAndValue("/bench/tx/c" + c + "/s" + s + "/k" + k, VALUE);
                return new Operation.Transaction(writes);
            };
            default -> throw new IllegalArgumentException(workload);
        };
    }

    private static XsMessage[] perKey(IntFunction<XsMessage> request) {
        XsMessage[] requests = new XsMessage[KEYS];
        for (int k = 0; k < KEYS; k++) requests[k] = request.apply(k);
        return requests;
    }

    private BenchResult runConnections(String label, Path socket, int conns, int pipeline, OperationFactory factory)
            throws IOException {
        steps.begin(label(label, conns, pipeline));
        List<BenchConnection> open = new ArrayList<>();
        try {
            for (int i = 0; i < conns; i++) open.add(BenchConnection.open(socket));
            long windowStart = System.nanoTime() + nanos(config.warmupSeconds());
            long windowEnd = windowStart + nanos(config.seconds());
            List<Callable<Tally>> tasks = new ArrayList<>();
            for (int i = 0; i < conns; i++) {
                Operation[] slots = new Operation[pipeline];
                for (int s = 0; s < pipeline; s++) slots[s] = factory.create(i, s);
                BenchConnection conn = open.get(i);
                tasks.add(() -> ConnectionDriver.run(conn, slots, windowStart, windowEnd));
            }
            Cpu.Window cpu = daemonCpu(label.equals("echo-floor"));
            Tally t = runAll(tasks, open, windowStart, windowEnd, cpu);
            return BenchResult.of(label, conns, pipeline, config.seconds(), t, cpu.perRequestMicros(t.ops * requestsPerOp(label)));
        } finally {
            closeAll(open);
        }
    }

    /**
     * Write-to-event latency, one write at a time: the writer thread sends WRITE /bench/w/x&lt;i&gt; and waits;
     * the watcher thread, blocked on its own connection, timestamps the WATCH_EVENT for that path the moment
     * it is decoded and wakes the writer.
     */
    private BenchResult runWatch() throws IOException {
        steps.begin(label("watch", 1, 1));
        List<BenchConnection> open = new ArrayList<>();
        try {
            BenchConnection watcher = BenchConnection.open(config.socket());
            open.add(watcher);
            BenchConnection writer = BenchConnection.open(config.socket());
            open.add(writer);
            registerWatch(watcher);
            AtomicReference<byte[]> expected = new AtomicReference<>();
            Semaphore arrived = new Semaphore(0);
            long[] eventAt = new long[1];
            long windowStart = System.nanoTime() + nanos(config.warmupSeconds());
            long windowEnd = windowStart + nanos(config.seconds());
            Callable<Tally> watchTask = () -> {
                Tally t = new Tally();
                try {
                    while (true) {
                        XsMessage m = watcher.receive();
                        if (m.type() != XsType.WATCH_EVENT.code) continue;
                        long now = System.nanoTime();
                        byte[] want = expected.get();
                        if (want != null && eventPathIs(m, want) && expected.compareAndSet(want, null)) {
                            eventAt[0] = now;
                            arrived.release();
                        }
                    }
                } catch (IOException closed) {
                    // The writer closes the watcher's connection when it is done; that ends this loop.
                }
                return t;
            };
            Callable<Tally> writeTask = () -> {
                Tally t = new Tally();
                try {
                    for (int i = 0; ; i++) {
                        long now = System.nanoTime();
                        if (now - windowEnd >= 0) break;
                        String path = "/bench/w/x" + (i % KEYS);
                        XsMessage request = write(path);
                        expected.set(path.getBytes(StandardCharsets.US_ASCII));
                        long sentAt = System.nanoTime();
                        writer.send(request, i);
                        String problem = Operation.problem(writer.receive(), XsType.WRITE.code);
                        if (problem != null) {
                            t.error(problem);
                            continue;
                        }
                        if (!arrived.tryAcquire(EVENT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                            t.error("no WATCH_EVENT within " + EVENT_TIMEOUT_SECONDS + " s");
                            break;
                        }
                        if (sentAt - windowStart >= 0) {
                            t.ops++;
                            t.latency.record(eventAt[0] - sentAt);
                        }
                    }
                } finally {
                    watcher.close();
                }
                return t;
            };
            Cpu.Window cpu = daemonCpu(false);
            Tally t = runAll(List.of(watchTask, writeTask), open, windowStart, windowEnd, cpu);
            return BenchResult.of("watch", 1, 1, config.seconds(), t, cpu.perRequestMicros(t.ops));
        } finally {
            closeAll(open);
        }
    }

    private static void registerWatch(BenchConnection watcher) throws IOException {
        watcher.send(XsMessage.of(XsType.WATCH, 0, 0, Payloads.strings("/bench/w", "bench")), 1);
        boolean acked = false, fired = false;
        // The reply comes first, then the event every new watch fires at once; wait for both.
        while (!acked || !fired) {
            XsMessage m = watcher.receive();
            if (m.type() == XsType.WATCH_EVENT.code) {
                fired = true;
            } else {
                String problem = Operation.problem(m, XsType.WATCH.code);
                if (problem != null) throw new IOException("WATCH /bench/w failed: " + problem);
                acked = true;
            }
        }
    }

    private static boolean eventPathIs(XsMessage event, byte[] path) {
        byte[] p = event.payload();
        return p.length > path.length && p[path.length] == 0 && Arrays.equals(p, 0, path.length, path, 0, path.length);
    }

    private BenchResult runEchoFloor() throws IOException {
        try (EchoServer echo = new EchoServer()) {
            return runConnections("echo-floor", echo.socketPath(), 1, 1, operations("echo-floor"));
        }
    }

    /**
     * Runs each task on its own platform thread. A daemon that stops answering must not hang the run: whatever
     * is still going {@link #GRACE_NANOS} after the window is cut off by closing its connections, and counted.
     */
    private static Tally runAll(List<Callable<Tally>> tasks, List<BenchConnection> conns, long windowStart,
            long windowEnd, Cpu.Window cpu) {
        Tally[] tallies = new Tally[tasks.size()];
        Thread[] threads = new Thread[tasks.size()];
        for (int i = 0; i < threads.length; i++) {
            int index = i;
            threads[i] = Thread.ofPlatform().name("bench-conn-" + i).start(() -> {
                try {
                    tallies[index] = tasks.get(index).call();
                } catch (Exception e) {
                    tallies[index] = new Tally();
                    tallies[index].error(String.valueOf(e));
                }
            });
        }
        Tally total = new Tally();
        boolean cutOff = false;
        try {
            cpu.measure(windowStart, windowEnd);
            for (Thread t : threads) {
                long left = windowEnd + GRACE_NANOS - System.nanoTime();
                if (!t.join(Duration.ofNanos(Math.max(1, left)))) cutOff = true;
            }
            if (cutOff) {
                closeAll(conns);
                for (Thread t : threads) t.join();
                total.error("daemon still busy " + TimeUnit.NANOSECONDS.toSeconds(GRACE_NANOS)
                        + " s after the window closed; connections cut");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeAll(conns);
            total.error("interrupted");
        }
        for (Tally t : tallies) {
            if (t != null) total.add(t);
        }
        return total;
    }

    /** The daemon's CPU time over the measured window, or nothing (no pid, or the echo floor's own server). */
    private Cpu.Window daemonCpu(boolean notTheDaemon) {
        return new Cpu.Window(notTheDaemon ? 0 : config.daemonPid());
    }

    /** xs_wire requests one operation makes (a transaction: START, its WRITEs, END). */
    static int requestsPerOp(String workload) {
        return workload.equals("transaction") ? TX_WRITES + 2 : 1;
    }

    private static void closeAll(List<BenchConnection> conns) {
        for (BenchConnection c : conns) {
            try {
                c.close();
            } catch (IOException ignored) {
                // Closing is best effort; the run's numbers are already taken.
            }
        }
    }

    private static long nanos(double seconds) {
        return (long) (seconds * 1e9);
    }

    private static XsMessage request(XsType type, String path) {
        return XsMessage.of(type, 0, 0, Payloads.strings(path));
    }

    private static String keyPath(int conn, int key) {
        return "/bench/c" + conn + "/k" + key;
    }

    static XsMessage write(String path) {
        return XsMessage.of(XsType.WRITE, 0, 0, Payloads.pathAndValue(path, VALUE));
    }
}
