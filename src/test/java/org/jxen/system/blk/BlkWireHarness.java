package org.jxen.system.blk;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.jxen.drivers.blk.Vdev;
import org.jxen.drivers.blk.back.BlkBack;
import org.jxen.drivers.blk.front.BlkFront;
import org.jxen.drivers.blk.front.BlockFront;
import org.jxen.kernel.Kernel;
import org.jxen.system.TestGuestKernel;
import org.jxen.toolstack.DiskSpec;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.testing.Await;

/**
 * A host (dom0 loads blkback at boot), guests running blkfront, disks added through libxl's DeviceManager and
 * found, once connected, in the guest kernel's block layer.
 */
final class BlkWireHarness implements AutoCloseable {
    static final long WAIT = 60;
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
        host.libxl().addDevice(domid, DiskSpec.parse(spec).device());
    }

    void detach(int domid, String vdev) throws Exception {
        host.libxl().removeDevice(domid, new org.jxen.toolstack.DeviceSpec("vbd", Vdev.devid(vdev), 0));
    }

    /** The guest's disk {@code name} once blkfront has connected it (and added it to the kernel's disks). */
    BlockFront disk(int domid, String name) throws Exception {
        return (BlockFront) kernel(domid).disks().await(name).get(WAIT, TimeUnit.SECONDS);
    }

    /** The disk {@code blkfront} drives for the guest's vbd {@code devid}, once it is probed (connected or not). */
    BlockFront probed(int domid, BlkFront blkfront, int devid) throws Exception {
        Kernel k = kernel(domid);
        BlockFront[] found = new BlockFront[1];
        awaitTrue("blkfront probing " + fe(domid, devid), () -> {
            XenbusDevice dev = k.xenbus().frontend().device(fe(domid, devid));
            return dev != null && (found[0] = blkfront.disk(dev)) != null;
        });
        return found[0];
    }

    /** dom0's blkback replaced by {@code blkback} (its parameters, its storage). */
    void reloadBlkback(BlkBack blkback) throws Exception {
        Kernel dom0 = host.dom0Kernel();
        dom0.unload(BlkBack.NAME);
        dom0.load(blkback);
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
        return Await.readOrNull(xs, path);
    }

    boolean awaitValue(String path, Predicate<String> ok, long seconds) throws Exception {
        return Await.value(xs, path, ok, seconds);
    }

    static void awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
        Await.until(what, condition, WAIT);
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
