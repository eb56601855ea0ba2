package org.jxen.drivers.blk.back;

import java.io.IOException;
import org.jxen.drivers.blk.Blkif;
import org.jxen.hypervisor.Errno;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;
import org.jxen.kernel.ModuleParameters;
import org.jxen.kernel.UnknownParameterException;
import org.jxen.xenbus.XenbusBus;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusException;

/**
 * xen-blkback.ko: the backend driver for device class {@code vbd}, built into dom0's kernel. Its parameters are
 * Linux blkback's module parameters; the storage behind each vbd is opened by a {@link BlockDevice.Opener}
 * ({@link BlockDevice#open} unless given another).
 */
public final class BlkBack implements KernelModule {
    public static final String NAME = "blkback";

    /**
     * @param maxIndirectSegments feature-max-indirect-segments (Linux: 256; at most 4096)
     * @param maxRingPageOrder max-ring-page-order (Linux: 4; here 3, i.e. 8 pages, 256 slots)
     * @param maxQueues multi-queue-max-queues (Linux: the number of CPUs)
     * @param featurePersistent whether to advertise feature-persistent (Linux's feature_persistent, true)
     * @param maxPersistentGrants grant refs kept mapped per ring when persistent grants are in use (Linux's
     *     max_persistent_grants, 1056); refs beyond it are mapped and unmapped per request
     * @param featureFlushCache whether to advertise feature-flush-cache (true). Linux blkback offers it when the
     *     device has a volatile write cache (bdev_write_cache), as a loop device over an image file has; an image
     *     here always sits behind the page cache, so false stands for a device without one
     */
    public record Params(int maxIndirectSegments, int maxRingPageOrder, int maxQueues, boolean featurePersistent,
            int maxPersistentGrants, boolean featureFlushCache) {
        public static final Params DEFAULT = new Params(256, 3, 4, true, PersistentGrants.DEFAULT_MAX, true);

        public Params(int maxIndirectSegments, int maxRingPageOrder, int maxQueues) {
            this(maxIndirectSegments, maxRingPageOrder, maxQueues, true, PersistentGrants.DEFAULT_MAX, true);
        }

        public Params {
            if (maxIndirectSegments < 0 || maxIndirectSegments > Blkif.MAX_INDIRECT_SEGMENTS) {
                throw new IllegalArgumentException("maxIndirectSegments " + maxIndirectSegments);
            }
            if (maxRingPageOrder < 0 || maxRingPageOrder > 4) throw new IllegalArgumentException("maxRingPageOrder");
            if (maxQueues < 1 || maxQueues > 64) throw new IllegalArgumentException("maxQueues");
            if (maxPersistentGrants < 0) throw new IllegalArgumentException("maxPersistentGrants");
        }

        /** The same parameters with feature-persistent on or off. */
        public Params withFeaturePersistent(boolean on) {
            return new Params(maxIndirectSegments, maxRingPageOrder, maxQueues, on, maxPersistentGrants,
                    featureFlushCache);
        }

        /** The same parameters with feature-flush-cache on or off. */
        public Params withFeatureFlushCache(boolean on) {
            return new Params(maxIndirectSegments, maxRingPageOrder, maxQueues, featurePersistent,
                    maxPersistentGrants, on);
        }
    }

    private final BlockDevice.Opener storage;
    private Params params;
    private BlkbackDriver driver;
    private XenbusBus backend;

    public BlkBack() {
        this(Params.DEFAULT);
    }

    public BlkBack(Params params) {
        this(params, BlockDevice::open);
    }

    /** blkback whose vbds' storage {@code storage} opens. */
    public BlkBack(Params params, BlockDevice.Opener storage) {
        this.params = params;
        this.storage = storage;
    }

    /** Built into dom0's kernel, as xen-blkback is into a distribution's (CONFIG_XEN_BLKDEV_BACKEND=y). */
    @Override
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.DOM0;
    }

    /**
     * xen-blkback's module parameters: {@code max_indirect_segments}, {@code max_ring_page_order},
     * {@code max_queues}, {@code max_persistent_grants} (unsigned, in the ranges {@link Params} takes) and
     * {@code feature_persistent} (boolean).
     */
    @Override
    public void parameter(String key, String value) {
        Params p = params;
        params = switch (key) {
            case "max_indirect_segments" -> new Params(ModuleParameters.uint(value), p.maxRingPageOrder(), p.maxQueues(),
                    p.featurePersistent(), p.maxPersistentGrants(), p.featureFlushCache());
            case "max_ring_page_order" -> new Params(p.maxIndirectSegments(), ModuleParameters.uint(value), p.maxQueues(),
                    p.featurePersistent(), p.maxPersistentGrants(), p.featureFlushCache());
            case "max_queues" -> new Params(p.maxIndirectSegments(), p.maxRingPageOrder(), ModuleParameters.uint(value),
                    p.featurePersistent(), p.maxPersistentGrants(), p.featureFlushCache());
            case "max_persistent_grants" -> new Params(p.maxIndirectSegments(), p.maxRingPageOrder(), p.maxQueues(),
                    p.featurePersistent(), ModuleParameters.uint(value), p.featureFlushCache());
            case "feature_persistent" -> p.withFeaturePersistent(ModuleParameters.bool(value));
            default -> throw new UnknownParameterException(key);
        };
    }

    /** The parameters the module was given (the defaults, changed by {@link #parameter}). */
    public Params params() {
        return params;
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        driver = new BlkbackDriver(params, storage);
        backend = kernel.xenbus().backend();
        backend.register(driver);
    }

    /**
     * The storage of vbd {@code devid} of domain {@code domid} was resized: blkback re-reads its size and, if it
     * changed, tells the frontend online (xen_vbd_resize). The new size in sectors; ENODEV if there is no such
     * connected vbd.
     */
    public long resize(int domid, int devid) throws IOException {
        String nodename = "/local/domain/" + backend.xenbus().domid() + "/backend/vbd/" + domid + "/" + devid;
        XenbusDevice dev = backend.device(nodename);
        if (dev == null) throw new XenbusException(Errno.ENODEV, "no vbd " + devid + " of domain " + domid + " in blkback");
        return driver.resize(dev);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().backend().unregister(driver);
    }
}
