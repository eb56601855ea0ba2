package org.jxen.drivers.blk;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.jxen.drivers.mydevice.TestGuestKernel;
import org.jxen.toolstack.DiskSpec;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.xenbus.Kernel;
import org.jxen.xenstore.client.XsClient;

/** A host (dom0 loads blkback at boot), guests running blkfront, disks added through libxl's DeviceManager. */
final class BlkWireHarness implements AutoCloseable {
    static final long WAIT = 60;
    private static final AtomicLong TOKENS = new AtomicLong();
    final Host host;
    final XsClient xs;

    BlkWireHarness(Path dir) throws Exception {
        TestGuestKernel.KERNELS.clear();
        host = Host.start(dir.resolve("run"), false);
        xs = host.xenstore();
    }

    Host.Guest guest(String name, boolean ownProcess, String kernelClass, String... modules) throws Exception {
        return host.create(new GuestConfig(name, 32, 1, kernelClass, List.of(modules), ownProcess));
    }

    Host.Guest guest(String name) throws Exception {
        return guest(name, false, TestGuestKernel.class.getName(), BlkFront.NAME);
    }

    Kernel kernel(int domid) throws Exception {
        return TestGuestKernel.kernelOf(domid).get(WAIT, TimeUnit.SECONDS);
    }

    void attach(int domid, String spec) throws Exception {
        host.deviceManager().add(domid, DiskSpec.parse(spec).device());
    }

    void detach(int domid, String vdev) throws Exception {
        host.deviceManager().remove(domid, new org.jxen.toolstack.DeviceSpec("vbd", Vdev.devid(vdev), 0));
    }

    BlockFront disk(int domid, String name) throws Exception {
        return BlkFront.of(kernel(domid)).disk(name).get(WAIT, TimeUnit.SECONDS);
    }

    static Path image(Path dir, String name, long bytes, long seed) throws IOException {
        Path p = dir.resolve(name);
        byte[] b = new byte[(int) bytes];
        new Random(seed).nextBytes(b);
        Files.write(p, b);
        return p;
    }

    static String be(int domid, int devid) {
        return "/local/domain/0/backend/vbd/" + domid + "/" + devid;
    }

    static String fe(int domid, int devid) {
        return "/local/domain/" + domid + "/device/vbd/" + devid;
    }

    String readOrNull(String path) throws IOException {
        return xs.exists(path) ? xs.readString(path) : null;
    }

    boolean awaitValue(String path, Predicate<String> ok, long seconds) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        String token = "blk-await-" + TOKENS.incrementAndGet();
        xs.watch(path, token, (p, t) -> q.add(p));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        try {
            while (true) {
                String v = readOrNull(path);
                if (v != null && ok.test(v)) return true;
                long left = deadline - System.nanoTime();
                if (left <= 0 || q.poll(left, TimeUnit.NANOSECONDS) == null) return false;
            }
        } finally {
            xs.unwatch(path, token);
        }
    }

    static void awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() < deadline).as("waiting for %s", what).isTrue();
            Thread.sleep(20);
        }
    }

    /** Whether this JVM has a descriptor open on {@code file} (blkback's image). */
    static boolean openInThisJvm(Path file) {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            Path real = file.toRealPath();
            return s.anyMatch(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException e) {
                    return false;
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        host.close();
    }
}
