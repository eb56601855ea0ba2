package org.jxen.xenbus;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.BackRing;
import org.jxen.ring.SharedRingLayout;

/**
 * A backend's view of the frontend's shared rings, read, mapped and bound in one call as blkback's
 * connect_ring and netback's connect_data_rings do with {@code xenbus_map_ring_valloc}: the number of queues
 * ({@code multi-queue-num-queues}, default 1) and the ring order ({@code ring-page-order}, default 0) checked
 * against the backend's maxima, then per queue each ring's refs mapped and the channel(s) bound (with split
 * channels, {@code event-channel-tx}/{@code -rx} when the frontend wrote them, else {@code event-channel} for
 * both, as netback falls back). {@link #close} unbinds and unmaps everything.
 */
public final class BackRings implements AutoCloseable {
    /** One queue's mapped rings and bound channels. */
    public static final class Queue {
        private final int index;
        private final Map<String, List<GrantMapping>> mappings = new LinkedHashMap<>();
        private final Map<String, Integer> ports = new LinkedHashMap<>();

        private Queue(int index) {
            this.index = index;
        }

        public int index() {
            return index;
        }

        /** The mapped pages of {@code ring}, in order. */
        public List<MemorySegment> pages(String ring) {
            return mappings.get(ring).stream().map(GrantMapping::page).toList();
        }

        /** An io/ring.h back ring of {@code entrySize}-byte entries over {@code ring}'s mapped pages. */
        public BackRing backRing(String ring, int entrySize) {
            return new BackRing(new SharedRingLayout(pages(ring), entrySize));
        }

        /** The bound local port of the channel ({@code ""}, or {@code "tx"}/{@code "rx"} when split). */
        public int port(String channel) {
            return ports.get(channel);
        }
    }

    private final XenbusDevice dev;
    private final List<Queue> queues = new ArrayList<>();
    private final int pageOrder;
    private boolean closed;

    private BackRings(XenbusDevice dev, int pageOrder) {
        this.dev = dev;
        this.pageOrder = pageOrder;
    }

    /**
     * Maps the rings the frontend published. Failures are thrown for the caller to report, with what was
     * mapped and bound so far taken down: EINVAL for missing or malformed keys and limits exceeded, EFAULT
     * for a grant that cannot be mapped, the hypervisor's errno for a channel that cannot be bound.
     *
     * @param handlers per queue and channel; an event can arrive before this returns, so a handler must cope
     *     with rings its driver has not wrapped yet (and the driver should look at the rings once after)
     */
    public static BackRings map(XenbusDevice dev, RingKeys keys, int maxQueues, int maxPageOrder,
            QueueHandlers handlers) throws IOException {
        String fe = dev.otherendPath();
        // The layout keys and a one-queue, one-page frontend's ring keys in one pipelined batch: the common
        // device costs dom0, which serves them all, one round trip here; other shapes read their queues after.
        // A backend that offers neither several queues nor multi-page rings reads neither layout key, nor the
        // numbered form of a one-page ring's ref: as a Linux driver without those features, it has no use for them.
        boolean layout = maxQueues > 1 || maxPageOrder > 0;
        Keys top = Keys.of(dev, fe, layout ? layoutKeys(keys) : queueKeys(keys, 1, false));
        int queues = top.number("multi-queue-num-queues", 1);
        if (queues < 1 || queues > maxQueues) {
            throw new XenbusException(Errno.EINVAL, "guest requested " + queues + " queues, exceeding the maximum of "
                    + maxQueues + ".");
        }
        int order = top.number("ring-page-order", 0);
        if (order < 0 || order > maxPageOrder) {
            throw new XenbusException(Errno.EINVAL, fe + "/ring-page-order " + order + " exceeds the maximum "
                    + maxPageOrder);
        }
        BackRings r = new BackRings(dev, order);
        try {
            for (int q = 0; q < queues; q++) {
                r.connect(keys, q, queues == 1 && order == 0 ? top
                        : Keys.of(dev, RingKeys.queueDir(fe, q, queues), queueKeys(keys, 1 << order, true)), handlers);
            }
            return r;
        } catch (IOException | RuntimeException e) {
            r.close();
            throw e;
        }
    }

    private void connect(RingKeys keys, int index, Keys dir, QueueHandlers handlers) throws IOException {
        Queue q = new Queue(index);
        queues.add(q);
        int n = 1 << pageOrder;
        Map<String, int[]> refs = new LinkedHashMap<>();
        for (String ring : keys.rings()) {
            int[] r = new int[n];
            // A one-page ring may also be published as <ring>-ring-ref0, as some frontends do.
            boolean flat = n == 1 && dir.has(RingKeys.refKey(ring, 0, 1));
            for (int i = 0; i < n; i++) r[i] = dir.number(flat ? RingKeys.refKey(ring, 0, 1) : RingKeys.refKey(ring, i, 2), -1);
            for (int ref : r) {
                if (ref < 0) throw new XenbusException(Errno.EINVAL, "reading " + dir.path + "/" + RingKeys.refKey(ring, 0, n));
            }
            refs.put(ring, r);
        }
        Map<String, Integer> remote = new LinkedHashMap<>();
        boolean split = keys.splitChannels() && dir.has(RingKeys.channelKey("tx"));
        for (String channel : keys.channels()) {
            String key = RingKeys.channelKey(split ? channel : "");
            int port = dir.number(key, -1);
            if (port < 0) throw new XenbusException(Errno.EINVAL, "reading " + dir.path + "/" + key);
            remote.put(channel, port);
        }
        for (Map.Entry<String, int[]> e : refs.entrySet()) q.mappings.put(e.getKey(), dev.mapAll(e.getValue()));
        for (Map.Entry<String, Integer> e : remote.entrySet()) {
            if (!split && !q.ports.isEmpty()) {
                // One channel serves both directions: bind it once.
                q.ports.put(e.getKey(), q.ports.values().iterator().next());
                continue;
            }
            try {
                q.ports.put(e.getKey(), dev.bindEvtchn(e.getValue(), handlers.handler(index, e.getKey())));
            } catch (HypercallException x) {
                throw new XenbusException(x.errno(), "binding event channel " + e.getValue() + " of domain "
                        + dev.otherendId(), x);
            }
        }
    }

    /** The top-level keys read first: the layout, and what a one-queue, one-page frontend writes beside it. */
    private static List<String> layoutKeys(RingKeys keys) {
        List<String> k = new ArrayList<>(List.of("multi-queue-num-queues", "ring-page-order"));
        k.addAll(queueKeys(keys, 1, true));
        return k;
    }

    /**
     * The keys one queue's rings and channels may be published under, with {@code pages} pages a ring; a one-page
     * ring's ref also in the numbered form ({@code ring-ref0}) if {@code numbered}.
     */
    private static List<String> queueKeys(RingKeys keys, int pages, boolean numbered) {
        List<String> k = new ArrayList<>();
        for (String ring : keys.rings()) {
            if (pages == 1) k.add(RingKeys.refKey(ring, 0, 1));
            if (pages > 1 || numbered) for (int i = 0; i < pages; i++) k.add(RingKeys.refKey(ring, i, 2));
        }
        k.add(RingKeys.channelKey(""));
        if (keys.splitChannels()) for (String c : RingKeys.SPLIT) k.add(RingKeys.channelKey(c));
        return k;
    }

    /** Keys of a frontend directory, read together ({@link org.jxen.xenstore.client.XsClient#readAll}); null: missing. */
    private record Keys(String path, Map<String, String> values) {
        static Keys of(XenbusDevice dev, String path, List<String> names) throws IOException {
            List<String> paths = new ArrayList<>(names.size());
            for (String n : names) paths.add(path + "/" + n);
            List<String> read = dev.xenbus().xenstore().readAll(paths);
            Map<String, String> values = new java.util.HashMap<>();
            for (int i = 0; i < names.size(); i++) values.put(names.get(i), read.get(i));
            return new Keys(path, values);
        }

        boolean has(String key) {
            return values.get(key) != null;
        }

        /** The key's decimal value, {@code dflt} if the frontend did not write it; EINVAL if it is not a number. */
        int number(String key, int dflt) throws XenbusException {
            String v = values.get(key);
            if (v == null) return dflt;
            try {
                return Integer.parseInt(v.strip());
            } catch (NumberFormatException e) {
                throw new XenbusException(Errno.EINVAL, "reading " + path + "/" + key + ": " + v);
            }
        }
    }

    public List<Queue> queues() {
        return List.copyOf(queues);
    }

    public int pageOrder() {
        return pageOrder;
    }

    /** Channels unbound and rings unmapped; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Queue q : queues) {
            for (int port : q.ports.values().stream().distinct().toList()) dev.freeEvtchn(port);
            for (List<GrantMapping> m : q.mappings.values()) dev.unmapRing(m);
        }
    }
}
