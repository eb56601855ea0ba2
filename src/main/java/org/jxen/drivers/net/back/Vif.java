package org.jxen.drivers.net.back;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import org.jxen.drivers.net.Mac;
import org.jxen.drivers.net.NetLink;
import org.jxen.drivers.net.Queues;
import org.jxen.hypervisor.Errno;
import org.jxen.xenbus.BackRings;
import org.jxen.xenbus.RingKeys;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusException;

/**
 * One vif in netback (struct xenvif): the dom0 interface {@code vif<domid>.<handle>}, made at probe as
 * backend_create_xenvif does, and while connected its queues. Frames the host's stack sends through the interface
 * go to a queue by flow (xenvif_select_queue) and into the guest's rx ring; the frontend's tx packets come out of
 * the interface. A fatal frontend error disables the vif (xenvif_fatal_tx_err): its rings are no longer served
 * and frames for it are dropped; XenStore is not touched, as in Linux.
 */
final class Vif {
    /** Linux netback gives every vif this address, so a bridge never takes a vif's as its own. */
    static final byte[] VIF_MAC = {(byte) 0xfe, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};

    private final XenbusDevice dev;
    private final NetLink link;
    private final NetBack.Params params;
    private final Queues<VifQueue> queues = new Queues<>();
    private BackRings rings;
    private org.jxen.xenbus.XenbusWatch rateWatch;
    private volatile NetbackCtrl ctrl;
    private volatile boolean canSg = true;
    private volatile boolean disabled;

    Vif(XenbusDevice dev, NetLink link, NetBack.Params params) {
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
                queues.forEach(VifQueue::flushRx);
            }
        });
    }

    String name() {
        return link.name();
    }

    boolean disabled() {
        return disabled;
    }

    /**
     * connect() of netback's xenbus.c: the frontend's flags (request-rx-copy required), the number of queues, the
     * backend's mac, then each queue's rings and channels (connect_data_rings), and the queues start.
     */
    void connect() throws IOException {
        String fe = dev.otherendPath();
        var xs = dev.xenbus().xenstore();
        if (unsigned(xs.readOrNull(fe + "/request-rx-copy"), 0) == 0) {
            throw new XenbusException(Errno.EOPNOTSUPP, "frontend does not request rx-copy (" + fe + "/request-rx-copy)");
        }
        boolean rxNotify = unsigned(xs.readOrNull(fe + "/feature-rx-notify"), 0) != 0;
        // read_xenbus_vif_flags and xenvif_fix_features: what the frontend takes decides the interface's features
        // (TUNSETOFFLOAD), so the host's stack hands over only frames the guest can receive.
        boolean sg = unsigned(xs.readOrNull(fe + "/feature-sg"), 0) != 0;
        boolean csum = unsigned(xs.readOrNull(fe + "/feature-no-csum-offload"), 0) == 0;
        boolean ipv6Csum = unsigned(xs.readOrNull(fe + "/feature-ipv6-csum-offload"), 0) != 0;
        boolean tso4 = sg && unsigned(xs.readOrNull(fe + "/feature-gso-tcpv4"), 0) != 0;
        boolean tso6 = sg && ipv6Csum && unsigned(xs.readOrNull(fe + "/feature-gso-tcpv6"), 0) != 0;
        link.offloads(csum, csum && tso4, csum && tso6);
        NetbackRx.Features features = new NetbackRx.Features(rxNotify, csum, ipv6Csum, tso4, tso6);
        canSg = sg;
        String mac = dev.readOrNull("mac");
        try {
            if (mac != null) Mac.parse(mac);
        } catch (IllegalArgumentException e) {
            throw new XenbusException(Errno.EINVAL, "parsing " + dev.nodename() + "/mac");
        }
        // connect_ctrl_ring, before the data rings: absent is fine, half of it fails the connect.
        ctrl = NetbackCtrl.connect(dev, () -> queues.current().size());
        RingKeys keys = new RingKeys(java.util.List.of("tx", "rx"), params.separateTxRxIrq());
        disabled = false;
        VifQueue[] qs = new VifQueue[0];
        VifQueue[][] holder = {qs};
        try {
            rings = BackRings.map(dev, keys, params.maxQueues(), 0, (q, channel) -> port -> {
                VifQueue[] now = holder[0];
                if (q >= now.length || now[q] == null) return;
                now[q].event(channel);
            });
        } catch (IOException | RuntimeException e) {
            closeCtrl();
            throw e;
        }
        boolean split = params.separateTxRxIrq() && hasSplit(rings.queues().getFirst());
        qs = new VifQueue[rings.queues().size()];
        try {
            for (BackRings.Queue r : rings.queues()) {
                qs[r.index()] = new VifQueue(dev, r, link, features, params.separateTxRxIrq(), this::fatal);
            }
        } catch (RuntimeException e) {
            for (VifQueue q : qs) if (q != null) q.release();
            throw new XenbusException(Errno.ENOMEM, "allocating the queues: " + e.getMessage(), e);
        }
        // xen_net_read_rate, then the watch on rate (xen_register_watchers): a change applies while connected.
        long[] rate = TxCredit.parse(dev.readOrNull("rate"), this::warn);
        for (VifQueue q : qs) q.credit().init(rate[0], rate[1]);
        holder[0] = qs;
        queues.publish(java.util.List.of(qs));
        rateWatch = dev.watchPath(dev.nodename() + "/rate", path -> rateChanged());
        for (VifQueue q : qs) q.start();
        for (VifQueue q : qs) {
            q.txEvent(); // requests pushed before the channels were bound
            q.rxEvent();
        }
        dev.xenbus().printk("netback " + dev.nodename() + ": " + name() + " connected, " + qs.length + " queue(s)"
                + (split ? ", split event channels" : "") + (tso4 || tso6 ? ", TSO" : ""));
    }

    private static boolean hasSplit(BackRings.Queue q) {
        return q.port("tx") != q.port("rx");
    }

    /** xen_net_rate_changed: every queue takes the new rate at once, and a waiting queue looks again. */
    private void rateChanged() {
        long[] rate;
        try {
            rate = TxCredit.parse(dev.readOrNull("rate"), this::warn);
        } catch (IOException e) {
            return;
        }
        long now = System.nanoTime();
        for (VifQueue q : queues.current()) {
            q.credit().change(rate[0], rate[1], now);
            q.txEvent();
        }
    }

    private void warn(String line) {
        dev.xenbus().printk("netback " + dev.nodename() + ": " + line);
    }

    /** Frames from the host's stack (the interface transmits), on the link's reader thread. */
    private void fromStack(MemorySegment frame, int offload) {
        // xenvif_fix_features: a frontend without feature-sg takes one slot a packet.
        if (!disabled && (canSg || frame.byteSize() <= org.jxen.drivers.net.Netif.PAGE_SIZE)) {
            queues.offer(frame, offload, VifQueue::deliver);
        }
    }

    /** xenvif_fatal_tx_err: the whole vif stops serving the frontend. */
    private void fatal(VifQueue q, String why) {
        dev.xenbus().printk("netback " + dev.nodename() + ": " + name() + ": " + why);
        dev.xenbus().printk("netback " + dev.nodename() + ": " + name() + ": fatal error; disabling device");
        disabled = true;
        for (VifQueue other : queues.current()) other.rx.stop();
    }

    /** xenvif_disconnect_data: queues stopped, rings unmapped, channels unbound. Idempotent. */
    void disconnect() {
        closeCtrl();
        if (rateWatch != null) rateWatch.close();
        rateWatch = null;
        queues.retire(VifQueue::stop, VifQueue::release);
        if (rings != null) rings.close();
        rings = null;
    }

    private void closeCtrl() {
        if (ctrl != null) ctrl.close();
        ctrl = null;
    }

    /** The control ring's hash settings as Linux's debugfs shows them; null without a control ring. */
    String ctrlDump() {
        NetbackCtrl c = ctrl;
        return c == null ? null : c.dump();
    }

    /** The interface goes (unregister_netdev). */
    void close() {
        disconnect();
        link.close();
    }

    /** Per queue: {tx packets (from the guest), rx packets (to it)}. */
    java.util.List<long[]> queueCounters() {
        java.util.List<long[]> out = new java.util.ArrayList<>();
        for (VifQueue q : queues.current()) out.add(new long[] {q.tx.packets(), q.rx.packets()});
        return out;
    }

    long[] counters() {
        long txp = 0, txd = 0, rxp = 0, rxd = 0;
        for (VifQueue q : queues.current()) {
            txp += q.tx.packets();
            txd += q.tx.dropped();
            rxp += q.rx.packets();
            rxd += q.rx.dropped();
        }
        return new long[] {txp, txd, rxp, rxd};
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
