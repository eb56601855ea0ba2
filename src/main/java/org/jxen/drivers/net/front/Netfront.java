package org.jxen.drivers.net.front;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.jxen.drivers.net.Mac;
import org.jxen.drivers.net.NetLink;
import org.jxen.drivers.net.Queues;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.xenbus.FrontRings;
import org.jxen.xenbus.RingKeys;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusException;

/**
 * One netfront device (struct netfront_info): the guest's interface, made at probe (xennet_create_dev), and
 * while connected its queues. {@link #connect} is talk_to_netback: the backend's features decide the number of
 * queues and whether the channels are split, and one transaction publishes every queue's ring refs and channels
 * with the frontend's features.
 */
final class Netfront {
    private final XenbusDevice dev;
    private final NetLink link;
    private final NetFront.Params params;
    private final Queues<NetfrontQueue> queues = new Queues<>();
    private FrontRings rings;
    private volatile NetfrontCtrl ctrl;
    private volatile boolean backendSg = true;

    Netfront(XenbusDevice dev, NetLink link, NetFront.Params params) {
        this.dev = dev;
        this.link = link;
        this.params = params;
        link.start(new NetLink.FrameHandler() {
            @Override
            public void frame(MemorySegment frame, int offload) {
                fromStack(frame, offload);
            }

            @Override
            public void idle() {
                queues.forEach(NetfrontQueue::flushTx);
            }
        });
    }

    String name() {
        return link.name();
    }

    /** The guest's own mac (xen_net_read_mac): fatal if missing or malformed. */
    static byte[] readMac(XenbusDevice dev) throws IOException {
        String mac = dev.readOrNull("mac");
        try {
            if (mac == null) throw new IllegalArgumentException("missing");
            return Mac.parse(mac);
        } catch (IllegalArgumentException e) {
            throw new XenbusException(Errno.ENOENT, "parsing " + dev.nodename() + "/mac");
        }
    }

    void connect() throws IOException, HypercallException {
        String be = dev.otherendPath();
        var xs = dev.xenbus().xenstore();
        List<String> v = xs.readAll(List.of(be + "/feature-rx-copy", be + "/multi-queue-max-queues",
                be + "/feature-split-event-channels", be + "/feature-sg", be + "/feature-gso-tcpv4",
                be + "/feature-gso-tcpv6", be + "/feature-ipv6-csum-offload"));
        backendSg = unsigned(v.get(3), 0) != 0;
        if (unsigned(v.get(0), 0) == 0) {
            throw new XenbusException(Errno.ENODEV, "backend does not support copying receive path");
        }
        boolean advertised = v.get(1) != null;
        int n = (int) Math.max(1, Math.min(unsigned(v.get(1), 1), params.maxQueues()));
        boolean split = unsigned(v.get(2), 0) == 1;
        // xennet_fix_features: IPv4 checksums are always offloaded; IPv6 ones, scatter-gather and TSO only as the
        // backend says. The interface's features follow (TUNSETOFFLOAD), so the guest's stack sends what can go.
        boolean sg = unsigned(v.get(3), 0) != 0;
        boolean ipv6Csum = unsigned(v.get(6), 0) != 0;
        boolean tso4 = sg && unsigned(v.get(4), 0) != 0;
        boolean tso6 = sg && ipv6Csum && unsigned(v.get(5), 0) != 0;
        link.offloads(true, tso4, tso6);
        RingKeys keys = new RingKeys(List.of("tx", "rx"), split);
        NetfrontQueue[][] holder = {new NetfrontQueue[n]};
        boolean withCtrl = params.ctrlRing() && unsigned(xs.readOrNull(be + "/feature-ctrl-ring"), 0) != 0;
        NetfrontCtrl c = withCtrl ? NetfrontCtrl.allocate(dev) : null;
        try {
            rings = FrontRings.setUp(dev, keys, n, 0, (q, channel) -> port -> {
            NetfrontQueue queue = holder[0][q];
            if (queue != null) queue.event(channel);
        }, tx -> {
            if (advertised && n == 1) dev.printf(tx, "multi-queue-num-queues", "%d", 1);
            dev.printf(tx, "request-rx-copy", "%d", 1);
            for (String f : List.of("feature-rx-notify", "feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6",
                    "feature-ipv6-csum-offload")) {
                if (params.features().contains(f)) dev.printf(tx, f, "%d", 1);
            }
            if (c != null) c.writeKeys(tx);
        });
        } catch (IOException | HypercallException | RuntimeException e) {
            if (c != null) c.close();
            throw e;
        }
        ctrl = c;
        NetfrontQueue[] qs = new NetfrontQueue[n];
        try {
            for (FrontRings.Queue q : rings.queues()) qs[q.index()] = new NetfrontQueue(dev, q, link, split, ipv6Csum);
        } catch (HypercallException | RuntimeException e) {
            for (NetfrontQueue q : qs) if (q != null) q.release();
            rings.close();
            rings = null;
            throw e;
        }
        holder[0] = qs;
        queues.publish(List.of(qs));
        for (NetfrontQueue q : qs) q.start();
        dev.xenbus().printk("netfront " + dev.nodename() + ": " + name() + ": " + n + " queue(s)"
                + (split ? ", split event channels" : "") + (tso4 || tso6 ? ", TSO" : ""));
    }

    /** The control ring while connected with one (NetFront.Params.ctrlRing), else null. */
    NetfrontCtrl ctrl() {
        return ctrl;
    }

    /** Frames the guest's stack sends through its interface. */
    private void fromStack(MemorySegment frame, int offload) {
        // xennet_fix_features: a backend without feature-sg takes one slot a packet (no frame above a page).
        if (!backendSg && frame.byteSize() > org.jxen.drivers.net.Netif.PAGE_SIZE) return;
        queues.offer(frame, offload, NetfrontQueue::transmit); // dropped while there is no carrier
    }

    /** xennet_disconnect_backend: queues stopped, buffers' grants ended, rings and channels taken down. */
    void disconnect() {
        queues.retire(NetfrontQueue::stop, NetfrontQueue::release);
        if (ctrl != null) ctrl.close();
        ctrl = null;
        if (rings != null) rings.close();
        rings = null;
    }

    void close() {
        disconnect();
        link.close();
    }

    /**
     * The domain died (destroyed while in its host's process): the queues' threads stop and their pages go with no
     * word to the backend, and the interface goes (the namespace can then go too).
     */
    void kill() {
        queues.retire(NetfrontQueue::stop, q -> {
            try {
                q.release();
            } catch (RuntimeException e) {
                // the domain's memory goes with it
            }
        });
        link.close();
    }

    /** The first broken queue's reason, or null. */
    String broken() {
        for (NetfrontQueue q : queues.current()) if (q.broken() != null) return q.broken();
        return null;
    }

    static long unsigned(String v, long dflt) {
        if (v == null) return dflt;
        try {
            return Long.parseUnsignedLong(v.strip());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }
}
