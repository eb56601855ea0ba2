package org.jxen.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jxen.drivers.mydevice.MyDeviceFront;
import org.jxen.kernel.CommandLine;
import org.jxen.toolstack.ConsoleLog;
import org.jxen.toolstack.DevicePaths;
import org.jxen.toolstack.DeviceSpec;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.Libxl;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.jxen.xenstore.client.XsClient;

/**
 * {@code jxen bench handshake}: N guests (in-process, or each in its own process) with {@code mydevicefront}, K
 * mydevice devices each attached through the toolstack's {@link Libxl} by a bounded pool of workers, timed from the
 * attach request to both ends' {@code state} reading Connected (4) in XenStore, as seen by a dom0 observer (its
 * own privileged connection, one watch on {@code /local/domain}, a READ of every changed mydevice {@code state}
 * node; the time is taken when the READ answers 4). Then every device is detached ({@code Libxl.removeDevice}:
 * Closing, wait for Closed, remove both directories), timed per call. Guest boot (until each guest's console shows
 * the frontend module loaded) is reported separately and not counted.
 */
public final class HandshakeBench {
    public static final String KIND = "mydevice";

    /**
     * @param guests the guest counts to run, one fresh host each; @param workers concurrent attaches/detaches;
     * @param processGuests each guest in a process of its own (as xl starts them) instead of in the host's JVM
     * @param extra words added to every guest's kernel command line, as xl.cfg's {@code extra} ("" for none)
     */
    public record Config(List<Integer> guests, int devices, double secondsLimit, int workers, int memoryMiB,
            boolean processGuests, String extra) {
        public Config(List<Integer> guests, int devices, double secondsLimit, int workers, int memoryMiB,
                boolean processGuests) {
            this(guests, devices, secondsLimit, workers, memoryMiB, processGuests, "");
        }

        public Config {
            guests = List.copyOf(guests);
            extra = extra == null ? "" : extra.strip();
            if (guests.isEmpty() || guests.stream().anyMatch(n -> n <= 0)) throw new IllegalArgumentException("--guests must be positive");
            if (devices <= 0) throw new IllegalArgumentException("--devices must be positive");
            if (workers <= 0) throw new IllegalArgumentException("--workers must be positive");
        }
    }

    /** One run: N guests x K devices. Times in nanoseconds; counts of devices that connected and detached. */
    public record Row(int guests, int devices, long bootNanos, long attachP50, long attachP99, long attachTotal,
            long attachCpu, long detachP50, long detachP99, long detachTotal, int connected, int detached,
            List<String> errors) {
        public int expected() {
            return guests * devices;
        }

        public boolean ok() {
            return errors.isEmpty() && connected == expected() && detached == expected();
        }

        public String toJson() {
            StringBuilder e = new StringBuilder("[");
            for (int i = 0; i < errors.size(); i++) e.append(i > 0 ? "," : "").append(Json.string(errors.get(i)));
            e.append(']');
            return String.format(Locale.ROOT, "{\"bench\":\"handshake\",\"guests\":%d,\"devices_per_guest\":%d,"
                    + "\"devices\":%d,\"boot_s\":%.3f,\"attach_p50_ms\":%.3f,\"attach_p99_ms\":%.3f,"
                    + "\"attach_total_s\":%.3f,\"attach_cpu_s\":%.3f,\"detach_p50_ms\":%.3f,\"detach_p99_ms\":%.3f,\"detach_total_s\":%.3f,"
                    + "\"connected\":%d,\"detached\":%d,\"errors\":%s}", guests, devices, expected(), s(bootNanos),
                    ms(attachP50), ms(attachP99), s(attachTotal), s(attachCpu), ms(detachP50), ms(detachP99), s(detachTotal),
                    connected, detached, e);
        }

        public static String markdown(List<Row> rows) {
            StringBuilder sb = new StringBuilder("| guests | devices | boot s | attach p50 ms | attach p99 ms | attach total s "
                    + "| attach CPU s | per-device p50 / N=first | detach p50 ms | detach p99 ms | detach total s | connected | detached |\n"
                    + "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            double base = rows.isEmpty() ? 1 : Math.max(1, rows.get(0).attachP50);
            for (Row r : rows) {
                sb.append(String.format(Locale.ROOT, "| %d | %d | %.2f | %.2f | %.2f | %.3f | %.2f | %.2fx | %.2f | %.2f | %.3f | %d/%d | %d/%d |%n",
                        r.guests, r.expected(), s(r.bootNanos), ms(r.attachP50), ms(r.attachP99), s(r.attachTotal),
                        s(r.attachCpu), r.attachP50 / base, ms(r.detachP50), ms(r.detachP99), s(r.detachTotal), r.connected, r.expected(),
                        r.detached, r.expected()));
            }
            return sb.toString();
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static double s(long nanos) {
        return nanos / 1e9;
    }

    private final Config config;
    private final PrintStream log;

    public HandshakeBench(Config config, PrintStream log) {
        this.config = config;
        this.log = log;
    }

    /**
     * One run per guest count. Its progress on the log: the plan, then each run with the time left, reckoned
     * from the pace of the runs before (seconds per guest; a run's work is not a fixed window, so the first run
     * can only say it does not know yet), and the time it all took.
     */
    public List<Row> run() throws Exception {
        List<Row> rows = new ArrayList<>();
        List<Integer> counts = config.guests();
        log.printf("bench handshake: %d run%s (%s guests, %d devices each); the time left is reckoned from the pace of"
                + " the runs before%n", counts.size(), counts.size() == 1 ? "" : "s",
                counts.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(", ")), config.devices());
        long start = System.nanoTime();
        double secondsPerGuest = -1;
        for (int i = 0; i < counts.size(); i++) {
            int n = counts.get(i);
            int guestsLeft = counts.subList(i, counts.size()).stream().mapToInt(Integer::intValue).sum();
            log.printf("bench handshake: [%d/%d] %d guests x %d devices, %s%n", i + 1, counts.size(), n, config.devices(),
                    secondsPerGuest < 0 ? "time left not known until a run is done"
                            : "about " + Progress.duration(secondsPerGuest * guestsLeft) + " left");
            long t0 = System.nanoTime();
            rows.add(runOnce(n));
            secondsPerGuest = s(System.nanoTime() - t0) / n;
        }
        log.printf("bench handshake: done in %s%n", Progress.duration(s(System.nanoTime() - start)));
        return rows;
    }

    /** A device's timeline: attach requested, each end first read Connected. */
    private static final class Times {
        final long requested;
        volatile long frontConnected;
        volatile long backConnected;
        final AtomicInteger done = new AtomicInteger();

        Times(long requested) {
            this.requested = requested;
        }
    }

    private static final Pattern FRONT = Pattern.compile("/local/domain/(\\d+)/device/" + KIND + "/(\\d+)/state");
    private static final Pattern BACK = Pattern.compile("/local/domain/0/backend/" + KIND + "/(\\d+)/(\\d+)/state");

    private Row runOnce(int n) throws Exception {
        int k = config.devices();
        long limitNanos = (long) (config.secondsLimit() * 1e9);
        List<String> errors = new ArrayList<>();
        ScratchDir scratch = ScratchDir.create("jxen-bench-handshake");
        log.printf("bench handshake: %d guests x %d devices in %s%n", n, k, scratch.path());
        try (scratch; Host host = Host.startEmbedded(scratch.path(), false, java.util.List.of())) {
            // ---- boot: not part of the attach time ----
            long bootStart = System.nanoTime();
            List<Integer> domids = new ArrayList<>();
            CountDownLatch ready = new CountDownLatch(n);
            List<String> kernelArgs = config.extra().isEmpty() ? List.of(CommandLine.MODULES_LOAD + MyDeviceFront.NAME)
                    : List.of(CommandLine.MODULES_LOAD + MyDeviceFront.NAME, config.extra());
            for (int i = 0; i < n; i++) {
                Host.Guest g = host.create(new GuestConfig("hs" + i, config.memoryMiB(), 1, GuestConfig.MODULAR_KERNEL,
                        kernelArgs, config.processGuests()));
                domids.add(g.domid());
                whenLine(host.consoleLog(g.domid()), "Hello World!", ready::countDown);
            }
            if (!ready.await(Math.max(60, 2 * (long) config.secondsLimit()), TimeUnit.SECONDS)) {
                errors.add((ready.getCount()) + " guests did not load " + MyDeviceFront.NAME);
            }
            long bootNanos = System.nanoTime() - bootStart;
            log.printf("bench handshake: booted %d guests in %.2f s%n", n, s(bootNanos));

            // ---- the observer: dom0's own connection, one watch, a READ per changed state node ----
            Map<String, Times> devices = new ConcurrentHashMap<>();
            CountDownLatch allConnected = new CountDownLatch(n * k);
            AtomicLong lastConnected = new AtomicLong();
            try (XsClient observer = new XsClient(host.xenstored().connectInProcess(0))) {
                observer.watch("/local/domain", "handshake-bench", (path, token) -> {
                    Matcher f = FRONT.matcher(path);
                    Matcher b = f.matches() ? null : BACK.matcher(path);
                    if (!f.matches() && (b == null || !b.matches())) return;
                    String key = f.matches() ? f.group(1) + "/" + f.group(2) : b.group(1) + "/" + b.group(2);
                    boolean front = f.matches();
                    observer.request(XsMessage.of(XsType.READ, 0, XsClient.NO_TX, Payloads.strings(path)))
                            .thenAccept(reply -> {
                                if (reply.type() != XsType.READ.code) return;
                                if (!"4".equals(new String(reply.payload(), StandardCharsets.UTF_8).strip())) return;
                                long now = System.nanoTime();
                                Times t = devices.get(key);
                                if (t == null) return;
                                if (front && t.frontConnected == 0) t.frontConnected = now;
                                else if (!front && t.backConnected == 0) t.backConnected = now;
                                else return;
                                if (t.done.incrementAndGet() == 2) {
                                    lastConnected.accumulateAndGet(now, Math::max);
                                    allConnected.countDown();
                                }
                            });
                });

                // ---- attach ----
                Libxl dm = host.libxl();
                long attachStart = System.nanoTime();
                long attachCpuStart = processCpuNanos();
                List<Future<?>> adds = new ArrayList<>();
                try (ExecutorService pool = Executors.newFixedThreadPool(config.workers(),
                        Thread.ofVirtual().name("bench-attach-", 0).factory())) {
                    for (int dev = 0; dev < k; dev++) {
                        for (int domid : domids) {
                            DeviceSpec spec = new DeviceSpec(KIND, dev, 0);
                            String key = domid + "/" + dev;
                            adds.add(pool.submit(() -> {
                                devices.put(key, new Times(System.nanoTime()));
                                dm.addDevice(domid, spec);
                                return null;
                            }));
                        }
                    }
                    collect(adds, "attach", errors);
                    if (!allConnected.await(Math.max(1, limitNanos - (System.nanoTime() - attachStart)),
                            TimeUnit.NANOSECONDS)) {
                        errors.add(allConnected.getCount() + " devices not Connected within " + config.secondsLimit() + " s"
                                + whyNotConnected(observer, devices.entrySet().stream()
                                        .filter(d -> d.getValue().done.get() < 2).map(Map.Entry::getKey).toList()));
                    }
                }
                LatencyHistogram attach = new LatencyHistogram();
                int connected = 0;
                for (Times t : devices.values()) {
                    if (t.done.get() < 2) continue;
                    connected++;
                    attach.record(Math.max(t.frontConnected, t.backConnected) - t.requested);
                }
                long attachCpu = processCpuNanos() - attachCpuStart;
                long attachTotal = connected > 0 ? lastConnected.get() - attachStart : 0;
                log.printf("bench handshake: %d/%d devices Connected in %.3f s%n", connected, n * k, s(attachTotal));
                observer.unwatch("/local/domain", "handshake-bench");

                // ---- detach ----
                LatencyHistogram detach = new LatencyHistogram();
                AtomicInteger detached = new AtomicInteger();
                List<Future<?>> removes = new ArrayList<>();
                long detachStart = System.nanoTime();
                try (ExecutorService pool = Executors.newFixedThreadPool(config.workers(),
                        Thread.ofVirtual().name("bench-detach-", 0).factory())) {
                    for (int dev = 0; dev < k; dev++) {
                        for (int domid : domids) {
                            DeviceSpec spec = new DeviceSpec(KIND, dev, 0);
                            removes.add(pool.submit(() -> {
                                long t0 = System.nanoTime();
                                dm.removeDevice(domid, spec);
                                long took = System.nanoTime() - t0;
                                synchronized (detach) {
                                    detach.record(took);
                                }
                                DevicePaths paths = DevicePaths.of(domid, spec);
                                if (!observer.exists(paths.frontend()) && !observer.exists(paths.backend())) {
                                    detached.incrementAndGet();
                                }
                                return null;
                            }));
                        }
                    }
                    collect(removes, "detach", errors);
                }
                long detachTotal = System.nanoTime() - detachStart;
                log.printf("bench handshake: %d/%d devices detached in %.3f s%n", detached.get(), n * k, s(detachTotal));
                return new Row(n, k, bootNanos, attach.percentile(50), attach.percentile(99), attachTotal,
                        attachCpu, detach.percentile(50), detach.percentile(99), detachTotal, connected, detached.get(),
                        List.copyOf(errors));
            }
        }
    }

    /**
     * CPU time of the whole process (every thread: xenstored, dom0, the guests, the JIT, GC), read before and
     * after the attach window. On a shared 2-core machine it is steadier than the wall-clock total.
     */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Runs {@code action} once the console log has shown a line containing {@code text}. */
    private static void whenLine(ConsoleLog console, String text, Runnable action) {
        if (console == null) return;
        AtomicInteger once = new AtomicInteger();
        ConsoleLog.Follower[] self = new ConsoleLog.Follower[1];
        self[0] = new ConsoleLog.Follower(line -> {
            if (line.contains(text) && once.getAndIncrement() == 0) action.run();
        }, () -> {});
        for (String line : console.follow(self[0])) {
            if (line.contains(text) && once.getAndIncrement() == 0) action.run();
        }
    }

    /**
     * What the error nodes of the devices that did not connect ("domid/devid") say (xenbus_dev_fatal's "errno
     * message", where a toolstack looks), counted by message: a device that failed for want of a resource says so.
     */
    static String whyNotConnected(XsClient xs, List<String> unconnected) throws IOException {
        Map<String, Integer> byReason = new java.util.TreeMap<>();
        for (String key : unconnected) {
            String[] d = key.split("/");
            String back = xs.readOrNull("/local/domain/0/error/backend/" + KIND + "/" + d[0] + "/" + d[1] + "/error");
            String front = xs.readOrNull("/local/domain/" + d[0] + "/error/device/" + KIND + "/" + d[1] + "/error");
            String why = back != null ? "backend: " + back.strip() : front != null ? "frontend: " + front.strip()
                    : "no error node";
            byReason.merge(why, 1, Integer::sum);
        }
        StringBuilder out = new StringBuilder("; their error nodes:");
        byReason.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(5)
                .forEach(r -> out.append(' ').append(r.getValue()).append(" x \"").append(r.getKey()).append("\""));
        return out.toString();
    }

    private static void collect(List<Future<?>> futures, String what, List<String> errors) throws InterruptedException {
        int failed = 0;
        String first = null;
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                failed++;
                if (first == null) first = String.valueOf(e.getCause());
            }
        }
        if (failed > 0) errors.add(failed + " " + what + " calls failed, first: " + first);
    }

}
