package org.jxen.drivers.blk.front;

import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.jxen.hypervisor.HypercallException;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenstore.client.XsClient;

/**
 * What one connection to blkback shares with it (talk_to_blkback's half of xen-blkfront.c): the queues' rings
 * and event channels and the granted buffer pool, set up together, published in one transaction, and torn down
 * together at disconnect.
 */
final class RingSet {
    /** Writes the frontend's own keys into the set-up transaction, next to the rings'. */
    @FunctionalInterface
    interface FrontendKeys {
        void write(XsClient.Tx tx) throws IOException;
    }

    final PagePool pool;
    final List<FrontQueue> queues;
    private final int order;

    private RingSet(PagePool pool, List<FrontQueue> queues, int order) {
        this.pool = pool;
        this.queues = List.copyOf(queues);
        this.order = order;
    }

    /**
     * Grants a pool of {@code poolPages} and sets up {@code numQueues} rings of {@code 2^order} pages each, whose
     * events go to {@code onEvent}. On failure whatever was taken is given back.
     */
    static RingSet open(XenbusDevice dev, int devid, int poolPages, int numQueues, int order,
            Consumer<FrontQueue> onEvent) throws HypercallException {
        PagePool pool = PagePool.grant(dev, poolPages);
        List<FrontQueue> queues = new ArrayList<>();
        try {
            for (int i = 0; i < numQueues; i++) queues.add(FrontQueue.open(dev, i, order, devid, onEvent));
        } catch (HypercallException | RuntimeException e) {
            for (FrontQueue q : queues) q.close(dev);
            PagePool.release(dev, pool.all());
            throw e;
        }
        return new RingSet(pool, queues, order);
    }

    /**
     * Publishes the rings in one transaction (retried on EAGAIN): ring-page-order above 0, then ring-ref0.. and
     * else a single ring-ref; multi-queue-num-queues and queue-N/ only with more than one queue; event-channel
     * per queue; and {@code keys}. Nothing is written if the toolstack removed our directory meanwhile.
     */
    void publish(XenbusDevice dev, FrontendKeys keys) throws IOException {
        dev.transaction(tx -> {
            // A directory the toolstack removed meanwhile must not be re-created by our writes.
            if (!tx.exists(dev.nodename() + "/state")) return null;
            if (order > 0) dev.printf(tx, "ring-page-order", "%d", order);
            if (queues.size() > 1) dev.printf(tx, "multi-queue-num-queues", "%d", queues.size());
            for (FrontQueue q : queues) {
                String dir = queues.size() > 1 ? "queue-" + q.index + "/" : "";
                int[] refs = q.ringRefs();
                if (order == 0) {
                    dev.printf(tx, dir + "ring-ref", "%d", refs[0]);
                } else {
                    for (int i = 0; i < refs.length; i++) dev.printf(tx, dir + "ring-ref" + i, "%d", refs[i]);
                }
                dev.printf(tx, dir + "event-channel", "%d", q.port());
            }
            keys.write(tx);
            return null;
        });
    }

    /**
     * Tears the rings down and ends the pool's grants (the backend may still map pages of a request it is
     * finishing: the grant and the page are released once it unmaps), but for the pages in {@code lent}, which a
     * shared read's reader is still reading: whoever gets them back releases them ({@link PagePool#release}).
     */
    void close(XenbusDevice dev, Set<PagePool.Page[]> lent) {
        for (FrontQueue q : queues) q.close(dev);
        BitSet lentPages = new BitSet();
        for (PagePool.Page[] pages : lent) for (PagePool.Page p : pages) lentPages.set(p.index());
        for (PagePool.Page p : pool.all()) {
            if (!lentPages.get(p.index())) dev.endAccessAndFree(p.ref(), p.seg());
        }
    }
}
