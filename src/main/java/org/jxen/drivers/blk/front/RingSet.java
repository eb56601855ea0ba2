package org.jxen.drivers.blk.front;

import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Set;
import org.jxen.drivers.blk.Blkif;
import org.jxen.hypervisor.HypercallException;
import org.jxen.xenbus.FrontRings;
import org.jxen.xenbus.RingKeys;
import org.jxen.xenbus.XenbusDevice;

/**
 * What one connection to blkback shares with it: the queues' rings and event channels (xenbus's
 * {@link FrontRings}: set up, published with the frontend's own keys in one transaction, torn down) and the
 * buffer pool granted next to them.
 */
final class RingSet {
    /** blkif: one ring per queue, named by {@code ring-ref}/{@code ring-refN}, one event channel. */
    private static final RingKeys BLKIF = RingKeys.single("");

    /** Where a queue's events go: the ring set and the queue's index in it. */
    @FunctionalInterface
    interface Events {
        void event(RingSet rings, int queue);
    }

    final PagePool pool;
    private FrontRings rings;
    /**
     * The queues, set by {@link #open} once the rings are up. Read under the {@link RequestQueue}'s lock, which
     * adopts the set only after open returned (an event that comes earlier finds the set not adopted yet).
     */
    List<FrontQueue> queues = List.of();

    private RingSet(PagePool pool) {
        this.pool = pool;
    }

    /** The toolstack removed the device's directory while we were setting up: nothing was written. */
    static final class DeviceGone extends IOException {
        DeviceGone(String nodename) {
            super(nodename + " was removed");
        }
    }

    /**
     * talk_to_blkback: grants a pool of {@code poolPages}, sets up and publishes {@code choice}'s rings with
     * {@code keys}, and wraps each as a {@link FrontQueue} whose events go to {@code events}. On failure whatever
     * was taken is given back; if the device's directory is gone, the transaction is abandoned (our writes must
     * not re-create a directory the toolstack removed) and {@link DeviceGone} thrown.
     */
    static RingSet open(XenbusDevice dev, int devid, int poolPages, Negotiation.Rings choice, Events events,
            FrontRings.ExtraKeys keys) throws IOException, HypercallException {
        RingSet set = new RingSet(PagePool.grant(dev, poolPages));
        try {
            set.rings = FrontRings.setUp(dev, BLKIF, choice.queues(), choice.order(),
                    (q, channel) -> port -> events.event(set, q), tx -> {
                        if (!tx.exists(dev.nodename() + "/state")) throw new DeviceGone(dev.nodename());
                        keys.write(tx);
                    });
        } catch (IOException | HypercallException | RuntimeException e) {
            PagePool.release(dev, set.pool.all());
            throw e;
        }
        List<FrontQueue> queues = new ArrayList<>();
        for (FrontRings.Queue q : set.rings.queues()) {
            queues.add(new FrontQueue(q.index(), q.frontRing("", Blkif.ENTRY_SIZE), q.port(""), devid));
        }
        set.queues = List.copyOf(queues);
        return set;
    }

    /**
     * Tears the rings down and ends the pool's grants (the backend may still map pages of a request it is
     * finishing: the grant and the page are released once it unmaps), but for the pages in {@code lent}, which a
     * shared read's reader is still reading: whoever gets them back releases them ({@link PagePool#release}).
     */
    void close(XenbusDevice dev, Set<PagePool.Page[]> lent) {
        rings.close();
        BitSet lentPages = new BitSet();
        for (PagePool.Page[] pages : lent) for (PagePool.Page p : pages) lentPages.set(p.index());
        for (PagePool.Page p : pool.all()) {
            if (!lentPages.get(p.index())) dev.endAccessAndFree(p.ref(), p.seg());
        }
    }
}
