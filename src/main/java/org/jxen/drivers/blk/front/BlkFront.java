package org.jxen.drivers.blk.front;

import org.jxen.drivers.blk.Blkif;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;
import org.jxen.kernel.ModuleParameters;
import org.jxen.kernel.UnknownParameterException;
import org.jxen.xenbus.XenbusDevice;

/**
 * xen-blkfront.ko: the frontend driver for {@code vbd} devices, built into a guest kernel. Each disk it connects
 * is added to the kernel's block layer ({@link Kernel#disks()}) under its name ({@code xvda}, ...), where guest
 * code finds it.
 */
public final class BlkFront implements KernelModule {
    public static final String NAME = "blkfront";
    /**
     * The pool's default size: Linux blkback's default max_persistent_grants, so with feature-persistent every
     * pool page stays mapped on every ring.
     */
    public static final int DEFAULT_POOL_PAGES = 1056;

    /**
     * @param maxQueues queues the frontend asks for, at most what the backend offers (Linux: the CPUs)
     * @param maxRingPageOrder ring pages (log2) it asks for, at most what the backend offers
     * @param maxIndirectSegments segments per indirect request it uses (Linux's max_indirect_segments, 32 by
     *     default; here 256 to match blkback)
     * @param poolPages pages granted to the backend for request data and indirect descriptors (default
     *     {@link #DEFAULT_POOL_PAGES}; four 1 MiB requests of 257 pages fit, so the backend reads one while
     *     blkfront copies another out)
     * @param featurePersistent whether to write feature-persistent = 1 (Linux's feature_persistent, true); the
     *     pool is granted once either way, the backend keeps its pages mapped only when both ends offer it
     */
    public record Params(int maxQueues, int maxRingPageOrder, int maxIndirectSegments, int poolPages,
            boolean featurePersistent) {
        public static final Params DEFAULT = new Params(4, 2, 256, DEFAULT_POOL_PAGES, true);

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

    private Params params;
    private volatile BlkfrontDriver driver;

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

    /** The disk blkfront drives for {@code dev} (its per-device data), connected or not; null if none. */
    public BlockFront disk(XenbusDevice dev) {
        BlkfrontDriver d = driver;
        return d == null ? null : d.disk(dev);
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        BlkfrontDriver d = new BlkfrontDriver(params, kernel.disks());
        driver = d;
        kernel.xenbus().frontend().register(d);
    }

    @Override
    public void exit(Kernel kernel) {
        BlkfrontDriver d = driver;
        if (d != null) kernel.xenbus().frontend().unregister(d);
        driver = null;
    }
}
