package org.jxen.xenbus;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.FrontRing;
import org.jxen.ring.SharedRingLayout;
import org.jxen.xenstore.client.XsClient;

/**
 * A frontend's shared rings, set up in one call as Linux's {@code xenbus_setup_ring} and a driver's
 * talk_to_backend do it together: for each queue and each ring, 2^order zeroed pages granted to the backend;
 * an event channel per queue (or a tx and an rx channel); and every key ({@link RingKeys}) written in one
 * transaction, retried on EAGAIN, with whatever else the driver publishes beside them. {@link #close} takes
 * it all down: ports closed, grants ended (deferred while the backend still maps a page), pages freed.
 */
public final class FrontRings implements AutoCloseable {
    /** Writes a driver's own keys in the same transaction as the ring keys (protocol, features...). */
    @FunctionalInterface
    public interface ExtraKeys {
        void write(XsClient.Tx tx) throws IOException;
    }

    /** One queue's rings and channels. */
    public static final class Queue {
        private final int index;
        private final Map<String, MemorySegment[]> pages = new LinkedHashMap<>();
        private final Map<String, int[]> refs = new LinkedHashMap<>();
        private final Map<String, Integer> ports = new LinkedHashMap<>();

        private Queue(int index) {
            this.index = index;
        }

        public int index() {
            return index;
        }

        /** The pages of {@code ring}, in order. */
        public List<MemorySegment> pages(String ring) {
            return List.of(pages.get(ring));
        }

        /** An initialised io/ring.h front ring of {@code entrySize}-byte entries over {@code ring}'s pages. */
        public FrontRing frontRing(String ring, int entrySize) {
            return new FrontRing(new SharedRingLayout(pages(ring), entrySize)).init();
        }

        public int[] refs(String ring) {
            return refs.get(ring).clone();
        }

        /** The event channel ({@code ""}) or one of the split ones ({@code "tx"}, {@code "rx"}). */
        public int port(String channel) {
            return ports.get(channel);
        }
    }

    private final XenbusDevice dev;
    private final List<Queue> queues = new ArrayList<>();
    private final int pageOrder;
    private boolean closed;

    private FrontRings(XenbusDevice dev, int pageOrder) {
        this.dev = dev;
        this.pageOrder = pageOrder;
    }

    /**
     * Sets up {@code queues} queues of {@code keys}' rings with 2^{@code pageOrder} pages each and publishes
     * them with {@code extra}. On failure everything done so far is taken down again and the failure is thrown
     * for the caller to report (a {@link XenbusException} or a {@link HypercallException}); if the device's
     * directory is gone, nothing is written and {@link XenbusException.DeviceGone} is thrown.
     */
    public static FrontRings setUp(XenbusDevice dev, RingKeys keys, int queues, int pageOrder, QueueHandlers handlers,
            ExtraKeys extra) throws IOException, HypercallException {
        if (queues < 1 || pageOrder < 0) throw new IllegalArgumentException(queues + " queues of order " + pageOrder);
        FrontRings r = new FrontRings(dev, pageOrder);
        try {
            for (int q = 0; q < queues; q++) r.allocate(keys, q, handlers);
            dev.transaction(tx -> {
                if (!tx.exists(dev.nodename() + "/state")) throw new XenbusException.DeviceGone(dev.nodename());
                r.writeKeys(tx, keys);
                if (extra != null) extra.write(tx);
                return null;
            });
            return r;
        } catch (IOException | HypercallException | RuntimeException e) {
            r.close();
            throw e;
        }
    }

    /** Listed before it is filled, so that a failure half-way is taken down by {@link #close}. */
    private void allocate(RingKeys keys, int index, QueueHandlers handlers) throws HypercallException {
        Queue q = new Queue(index);
        queues.add(q);
        int n = 1 << pageOrder;
        for (String ring : keys.rings()) {
            MemorySegment[] pages = new MemorySegment[n];
            q.pages.put(ring, pages);
            for (int i = 0; i < n; i++) pages[i] = dev.xenbus().allocPage();
            q.refs.put(ring, dev.grantAll(pages));
        }
        for (String channel : keys.channels()) q.ports.put(channel, dev.allocEvtchn(handlers.handler(index, channel)));
    }

    private void writeKeys(XsClient.Tx tx, RingKeys keys) throws IOException {
        int n = 1 << pageOrder;
        if (pageOrder > 0) dev.printf(tx, "ring-page-order", pageOrder);
        if (queues.size() > 1) dev.printf(tx, "multi-queue-num-queues", queues.size());
        for (Queue q : queues) {
            String dir = queues.size() > 1 ? "queue-" + q.index + "/" : "";
            for (String ring : keys.rings()) {
                int[] refs = q.refs.get(ring);
                for (int i = 0; i < n; i++) dev.printf(tx, dir + RingKeys.refKey(ring, i, n), refs[i]);
            }
            for (String channel : keys.channels()) {
                dev.printf(tx, dir + RingKeys.channelKey(channel), q.ports.get(channel));
            }
        }
    }

    public List<Queue> queues() {
        return List.copyOf(queues);
    }

    public int pageOrder() {
        return pageOrder;
    }

    /** Ports closed, grants ended (deferred while mapped), pages freed; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Queue q : queues) {
            for (int port : q.ports.values()) dev.freeEvtchn(port);
            for (Map.Entry<String, MemorySegment[]> e : q.pages.entrySet()) {
                MemorySegment[] pages = e.getValue();
                int[] refs = q.refs.get(e.getKey());
                for (int i = 0; i < pages.length; i++) {
                    if (pages[i] == null) continue;
                    if (refs != null) dev.endAccessAndFree(refs[i], pages[i]);
                    else dev.xenbus().freePage(pages[i]);
                }
            }
        }
    }
}
