package org.jxen.drivers.blk;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
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

    private final BlkfrontDriver driver;
    private final Map<String, CompletableFuture<BlockFront>> disks = new ConcurrentHashMap<>();
    private Kernel kernel;

    public BlkFront() {
        this(Params.DEFAULT);
    }

    public BlkFront(Params params) {
        this.driver = new BlkfrontDriver(this, params);
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
    }

    void removed(BlockFront d) {
        disks.computeIfPresent(d.name(), (n, f) -> f.isDone() && f.getNow(null) == d ? null : f);
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        this.kernel = kernel;
        LOADED.put(kernel, this);
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
