package org.jxen.system.mydevice;

import org.jxen.system.TestGuestKernel;
import org.jxen.xenstore.testing.Await;
import org.jxen.kernel.LogAwait;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelLog;
import org.jxen.xenbus.XenbusState;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.client.XsClient;

/**
 * A host with dom0's mydeviceback loaded, guests running {@link TestGuestKernel}, and the toolstack's side of
 * a device written by hand: libxl's one-transaction add and remove, and the seed's activate.sh.
 * Every wait is on a XenStore watch or a log sink, with generous timeouts.
 */
final class SplitDriverHarness implements AutoCloseable {
    static final long WAIT_SECONDS = 60;
    private static final AtomicLong TOKENS = new AtomicLong();

    final Host host;
    final XsClient xs;

    SplitDriverHarness(Path dir) throws Exception {
        TestGuestKernel.KERNELS.clear();
        host = Host.start(dir, false);
        xs = host.xenstore();
    }

    Host.Guest guest(String name, boolean ownProcess, String... modules) throws Exception {
        return host.create(new GuestConfig(name, 16, 1, TestGuestKernel.class.getName(), List.of(modules),
                ownProcess));
    }

    /** The kernel of an in-process guest, once it has loaded its modules. */
    Kernel kernel(int domid) throws Exception {
        return TestGuestKernel.kernelOf(domid).get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    Kernel dom0() {
        return host.dom0Kernel();
    }

    static String fe(int domid, int dev) {
        return "/local/domain/" + domid + "/device/mydevice/" + dev;
    }

    static String be(int domid, int dev) {
        return "/local/domain/0/backend/mydevice/" + domid + "/" + dev;
    }

    /**
     * libxl__device_add: one transaction; the frontend directory owned by the guest and readable by dom0,
     * the backend's owned by dom0 and readable by the guest; {@code online = 1}; state 1 on both sides,
     * the backend's written last.
     */
    void libxlAdd(int domid, int dev) throws IOException {
        String fe = fe(domid, dev);
        String be = be(domid, dev);
        xs.transaction(tx -> {
            tx.mkdir(fe);
            tx.setPerms(fe, XsPerms.of(new XsPerm(domid, false, false), new XsPerm(0, true, false)));
            tx.mkdir(be);
            tx.setPerms(be, XsPerms.of(new XsPerm(0, false, false), new XsPerm(domid, true, false)));
            tx.write(fe + "/backend", be);
            tx.write(fe + "/backend-id", "0");
            tx.write(be + "/frontend", fe);
            tx.write(be + "/frontend-id", Integer.toString(domid));
            tx.write(be + "/online", "1");
            tx.write(fe + "/state", "1");
            tx.write(be + "/state", "1");
            return null;
        });
    }

    /** The seed's activate.sh: one xenstore-write at a time, the frontend's state=1 before the backend's. */
    void activateSh(int domid, int dev) throws IOException {
        String fe = fe(domid, dev);
        String be = be(domid, dev);
        xs.write(fe + "/backend-id", "0");
        xs.write(fe + "/backend", be);
        xs.write(be + "/frontend-id", Integer.toString(domid));
        xs.write(be + "/frontend", fe);
        xs.setPerms(be, XsPerms.of(new XsPerm(0, true, false)));
        xs.write(fe + "/state", "1");
        xs.write(be + "/state", "1");
    }

    /**
     * libxl__device_remove: {@code online = 0} and backend Closing in one transaction, wait for the backend's
     * Closed, then remove both directories (the frontend's first, as the forced remove does). True if the
     * backend reached Closed in time.
     */
    boolean libxlRemove(int domid, int dev, long waitSeconds) throws Exception {
        boolean closed = libxlClose(domid, dev, waitSeconds);
        libxlRemoveNodes(domid, dev);
        return closed;
    }

    /** The first half of libxl's remove: online=0, backend Closing, then wait for the backend's Closed. */
    boolean libxlClose(int domid, int dev, long waitSeconds) throws Exception {
        String be = be(domid, dev);
        xs.transaction(tx -> {
            tx.write(be + "/online", "0");
            if (!"6".equals(tx.readString(be + "/state"))) tx.write(be + "/state", "5");
            return null;
        });
        return awaitValue(be + "/state", "6"::equals, waitSeconds);
    }

    /** The second half: both device directories go. */
    void libxlRemoveNodes(int domid, int dev) throws IOException {
        xs.rm(fe(domid, dev));
        xs.rm(be(domid, dev));
    }

    void awaitState(String dir, XenbusState want) throws Exception {
        assertThat(awaitValue(dir + "/state", v -> XenbusState.parse(v) == want, WAIT_SECONDS))
                .as("%s/state reaching %s (now %s)", dir, want, readOrNull(dir + "/state")).isTrue();
    }

    String readOrNull(String path) throws IOException {
        return Await.readOrNull(xs, path);
    }

    /** Waits, on a watch, until the node exists with a value {@code ok} accepts. */
    boolean awaitValue(String path, Predicate<String> ok, long seconds) throws Exception {
        return Await.value(xs, path, ok, seconds);
    }

    void awaitGone(String path) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        String token = "gone-" + TOKENS.incrementAndGet();
        xs.watch(path, token, (p, t) -> q.add(p));
        try {
            while (xs.exists(path)) {
                assertThat(q.poll(WAIT_SECONDS, TimeUnit.SECONDS)).as("waiting for %s to go", path).isNotNull();
            }
        } finally {
            xs.unwatch(path, token);
        }
    }

    /** Waits for a kernel log line (lines printed before the call count too). */
    static void awaitLine(KernelLog log, String line) throws Exception {
        LogAwait.line(log, line);
    }

    /** Waits until {@code line} was printed {@code times} times (sink, then re-count). */
    static void awaitCount(KernelLog log, String line, int times) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        Consumer<String> sink = q::add;
        log.addSink(sink);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (log.lines().stream().filter(line::equals).count() < times) {
                long left = deadline - System.nanoTime();
                assertThat(left > 0 && q.poll(left, TimeUnit.NANOSECONDS) != null)
                        .as("waiting for \"%s\" x%d; log: %s", line, times, log.lines()).isTrue();
            }
        } finally {
            log.removeSink(sink);
        }
    }

    /** A guest's log as its kernel mirrors it to {@code data/dmesg} (guests in their own process). */
    void awaitDmesg(int domid, String line) throws Exception {
        String path = "/local/domain/" + domid + "/data/dmesg";
        assertThat(awaitValue(path, v -> v.lines().anyMatch(line::equals), WAIT_SECONDS))
                .as("d%d dmesg line \"%s\"; dmesg: %s", domid, line, readOrNull(path)).isTrue();
    }

    /** For conditions no watch or log line announces (resource counters): re-checked until true. */
    static void awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
        Await.until(what, condition, WAIT_SECONDS);
    }

    /** The lines of {@code log} that are in {@code expected}, in log order. */
    static List<String> linesAmong(KernelLog log, List<String> expected) {
        return log.lines().stream().filter(expected::contains).toList();
    }

    @Override
    public void close() {
        host.close();
    }
}
