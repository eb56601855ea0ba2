package org.jxen.drivers.blk;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.kernel.Disk;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;
import org.jxen.kernel.ModuleParameters;
import org.jxen.kernel.UnknownParameterException;
import org.jxen.xenbus.Xenbus;

/**
 * xen-blkfront.ko: the frontend driver for {@code vbd} devices and the guest's registry of block devices by
 * name ({@code xvda}, ...). Guest code finds a disk with {@code BlkFront.of(kernel).disk("xvda")}.
 */
public final class BlkFront implements KernelModule {
    public static final String NAME = "blkfront";
    private static final Map<Kernel, BlkFront> LOADED = Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * @param maxQueues queues the frontend asks for, at most what the backend offers (Linux: the CPUs)
     * @param maxRingPageOrder ring pages (log2) it asks for, at most what the backend offers
     * @param maxIndirectSegments segments per indirect request it uses (Linux's max_indirect_segments, 32 by
     *     default; here 256 to match blkback)
     * @param poolPages pages granted to the backend for request data and indirect descriptors (default 1056,
     *     blkback's default max_persistent_grants, so with feature-persistent every pool page stays mapped on
     *     every ring; four 1 MiB requests of 257 pages fit, so the backend reads one while blkfront copies
     *     another out)
     * @param featurePersistent whether to write feature-persistent = 1 (Linux's feature_persistent, true); the
     *     pool is granted once either way, the backend keeps its pages mapped only when both ends offer it
     */
    public record Params(int maxQueues, int maxRingPageOrder, int maxIndirectSegments, int poolPages,
            boolean featurePersistent) {
        public static final Params DEFAULT = new Params(4, 2, 256, PersistentGrants.DEFAULT_MAX, true);

        public Params(int maxQueues, int maxRingPageOrder, int maxIndirectSegments, int poolPages) {
            this(maxQueues, maxRingPageOrder, maxIndirectSegments, poolPages, true);
        }

        public Params {
            if (maxQueues < 1 || maxRingPageOrder < 0 || maxIndirectSegments < 0) throw new IllegalArgumentException();
            if (poolPages < Blkif.MAX_SEGMENTS_PER_REQUEST + Blkif.MAX_INDIRECT_PAGES_PER_REQUEST) {
                throw new IllegalArgumentException("poolPages " + poolPages);
            }
        }
    }

    private final Map<String, CompletableFuture<BlockFront>> disks = new ConcurrentHashMap<>();
    private final Map<BlockFront, Disk> gendisks = new java.util.HashMap<>();
    private Params params;
    private BlkfrontDriver driver;
    private Kernel kernel;

    public BlkFront() {
        this(Params.DEFAULT);
    }

    public BlkFront(Params params) {
        this.params = params;
    }

    /** Built into a guest kernel, as xen-blkfront is into a distribution's (CONFIG_XEN_BLKDEV_FRONTEND=y). */
    @Override
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.GUEST;
    }

    /**
     * xen-blkfront's module parameters: {@code max_queues}, {@code max_ring_page_order},
     * {@code max_indirect_segments} (unsigned) and {@code feature_persistent} (boolean).
     */
    @Override
    public void parameter(String key, String value) {
        Params p = params;
        params = switch (key) {
            case "max_queues" -> new Params(ModuleParameters.uint(value), p.maxRingPageOrder(), p.maxIndirectSegments(),
                    p.poolPages(), p.featurePersistent());
            case "max_ring_page_order" -> new Params(p.maxQueues(), ModuleParameters.uint(value), p.maxIndirectSegments(),
                    p.poolPages(), p.featurePersistent());
            case "max_indirect_segments" -> new Params(p.maxQueues(), p.maxRingPageOrder(), ModuleParameters.uint(value),
                    p.poolPages(), p.featurePersistent());
            case "feature_persistent" -> new Params(p.maxQueues(), p.maxRingPageOrder(), p.maxIndirectSegments(),
                    p.poolPages(), ModuleParameters.bool(value));
            default -> throw new UnknownParameterException(key);
        };
    }

    /** The parameters the module was given (the defaults, changed by {@link #parameter}). */
    public Params params() {
        return params;
    }

    /** The blkfront loaded in {@code kernel}, or null. */
    public static BlkFront of(Kernel kernel) {
        return LOADED.get(kernel);
    }

    @Override
    public String name() {
        return NAME;
    }

    /** The disk called {@code name} once it is Connected (the future waits for it to appear and connect). */
    public CompletableFuture<BlockFront> disk(String name) {
        return slot(name).thenCompose(BlockFront::whenConnected);
    }

    /** The names of the disks known now. */
    public List<String> diskNames() {
        return disks.entrySet().stream().filter(e -> e.getValue().isDone() && !e.getValue().isCompletedExceptionally())
                .map(Map.Entry::getKey).sorted().toList();
    }

    private CompletableFuture<BlockFront> slot(String name) {
        return disks.computeIfAbsent(name, n -> new CompletableFuture<>());
    }

    void added(BlockFront d) {
        CompletableFuture<BlockFront> f = slot(d.name());
        if (!f.complete(d)) {
            disks.put(d.name(), CompletableFuture.completedFuture(d));
        }
        // The block layer's add_disk once the device is connected: the guest's userland opens it by name.
        d.whenConnected().thenAccept(c -> {
            synchronized (gendisks) {
                if (disks.get(c.name()) == null || disks.get(c.name()).getNow(null) != c) return; // removed meanwhile
                Disk g = new GenDisk(c);
                gendisks.put(c, g);
                kernel.disks().add(g);
            }
        });
    }

    void removed(BlockFront d) {
        disks.computeIfPresent(d.name(), (n, f) -> f.isDone() && f.getNow(null) == d ? null : f);
        synchronized (gendisks) {
            Disk g = gendisks.remove(d);
            if (g != null) kernel.disks().remove(g);
        }
    }

    /** A connected {@link BlockFront} as the block layer's {@link Disk}. */
    private record GenDisk(BlockFront bf) implements Disk {
        @Override
        public String name() {
            return bf.name();
        }

        @Override
        public long sectors() {
            return bf.sectors();
        }

        @Override
        public int sectorSize() {
            return bf.sectorSize();
        }

        @Override
        public boolean readOnly() {
            return bf.readOnly();
        }

        @Override
        public boolean flushSupported() {
            return bf.flushSupported();
        }

        @Override
        public boolean discardSupported() {
            return bf.discardSupported();
        }

        @Override
        public int queues() {
            return bf.queues();
        }

        @Override
        public int queueDepth() {
            return bf.queueDepth();
        }

        @Override
        public CompletableFuture<Void> read(long sector, byte[] buf, int off, int len) {
            return bf.read(sector, buf, off, len);
        }

        @Override
        public CompletableFuture<Void> write(long sector, byte[] buf, int off, int len) {
            return bf.write(sector, buf, off, len);
        }

        @Override
        public void read(long sector, byte[] buf, int off, int len, EndIo endIo) {
            bf.read(sector, buf, off, len, endIo::ended);
        }

        @Override
        public void write(long sector, byte[] buf, int off, int len, EndIo endIo) {
            bf.write(sector, buf, off, len, endIo::ended);
        }

        @Override
        public CompletableFuture<Void> readShared(long sector, int count, SectorReader reader) {
            return bf.readShared(sector, count, reader::accept);
        }

        @Override
        public CompletableFuture<Void> flush() {
            return bf.flush();
        }

        @Override
        public CompletableFuture<Void> discard(long sector, long count) {
            return bf.discard(sector, count);
        }
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        this.kernel = kernel;
        LOADED.put(kernel, this);
        driver = new BlkfrontDriver(this, params);
        kernel.xenbus().frontend().register(driver);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().frontend().unregister(driver);
        LOADED.remove(kernel);
    }

    Kernel kernel() {
        return kernel;
    }
}
