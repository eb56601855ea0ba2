package org.jxen.drivers.net.back;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntSupplier;
import org.jxen.drivers.net.Netif;
import org.jxen.drivers.net.NetifCtrlRequest;
import org.jxen.drivers.net.NetifCtrlResponse;
import org.jxen.hypervisor.CopyBatch;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.GrantStatus;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.BackRing;
import org.jxen.ring.RingOverflowException;
import org.jxen.ring.SharedRingLayout;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusException;

/**
 * A vif's control ring (feature-ctrl-ring; Linux netback's connect_ctrl_ring, xenvif_ctrl_action and hash.c):
 * the frontend's {@code ctrl-ring-ref} page and {@code event-channel-ctrl}, served on a thread of its own that the
 * channel wakes. The hash commands are answered as Linux answers them: algorithm NONE or TOEPLITZ; flags only
 * the four IPv4/IPv6 (+TCP) types and only with an algorithm; a key of at most 40 bytes grant-copied from the
 * frontend (the rest zeroed); a mapping table of at most 128 entries, filled by grant copy and refused when an
 * entry names a queue the vif does not have (the table is then left as it was). Other types: NOT_SUPPORTED.
 * The settings are kept (and shown by {@link #dump}, as Linux's debugfs does); jxen's queue choice does not use
 * them yet (see docs/net.md).
 */
final class NetbackCtrl implements AutoCloseable {
    static final int MAX_HASH_KEY_SIZE = 40;
    static final int MAX_HASH_MAPPING_SIZE = 128;
    static final int HASH_TYPES = (1 << Netif.CTRL_HASH_TYPE_IPV4) | (1 << Netif.CTRL_HASH_TYPE_IPV4_TCP)
            | (1 << Netif.CTRL_HASH_TYPE_IPV6) | (1 << Netif.CTRL_HASH_TYPE_IPV6_TCP);

    private final XenbusDevice dev;
    private final List<GrantMapping> mapping;
    private final BackRing ring;
    private final int port;
    private final IntSupplier numQueues;
    private final Staging staging;
    private final CopyBatch batch = new CopyBatch(4);
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(Netif.CTRL_ENTRY_SIZE);
    /** What a command's grant copy brought in (at most a page: the key or a mapping chunk). */
    private final MemorySegment copied = arena.allocate(Netif.PAGE_SIZE);
    private final NetifCtrlRequest req = new NetifCtrlRequest();
    private final NetifCtrlResponse rsp = new NetifCtrlResponse();
    private final Thread thread;
    private volatile boolean kicked = true;
    private volatile boolean stopped;
    // The hash state (struct xenvif_hash), touched by the ctrl thread only; dump reads a snapshot.
    private volatile int alg = Netif.CTRL_HASH_ALGORITHM_NONE;
    private volatile int flags;
    private final byte[] key = new byte[MAX_HASH_KEY_SIZE];
    private volatile int[] table = new int[0];

    private NetbackCtrl(XenbusDevice dev, List<GrantMapping> mapping, int port, IntSupplier numQueues) {
        this.dev = dev;
        this.mapping = mapping;
        this.ring = new BackRing(new SharedRingLayout(mapping.getFirst().page(), Netif.CTRL_ENTRY_SIZE));
        this.port = port;
        this.numQueues = numQueues;
        this.staging = new Staging(dev.xenbus(), dev.otherendId());
        this.thread = Thread.ofVirtual().name(dev.nodename() + "-ctrl").unstarted(this::loop);
    }

    /**
     * connect_ctrl_ring: null when the frontend has no {@code ctrl-ring-ref}; a missing or bad
     * {@code event-channel-ctrl}, or a ring that cannot be mapped, fails the connect.
     */
    static NetbackCtrl connect(XenbusDevice dev, IntSupplier numQueues) throws IOException {
        var xs = dev.xenbus().xenstore();
        String fe = dev.otherendPath();
        List<String> v = xs.readAll(List.of(fe + "/ctrl-ring-ref", fe + "/event-channel-ctrl"));
        if (v.get(0) == null) return null;
        int ref = number(v.get(0), fe + "/ctrl-ring-ref");
        if (v.get(1) == null) throw new XenbusException(Errno.ENOENT, "reading " + fe + "/event-channel-ctrl");
        int evtchn = number(v.get(1), fe + "/event-channel-ctrl");
        List<GrantMapping> m = dev.mapRing(ref);
        NetbackCtrl[] self = new NetbackCtrl[1];
        int local;
        try {
            local = dev.bindEvtchn(evtchn, p -> {
                NetbackCtrl c = self[0];
                if (c != null) c.kick();
            });
        } catch (HypercallException e) {
            dev.unmapRing(m);
            throw new XenbusException(e.errno(), "mapping shared-frame " + ref + " port " + evtchn, e);
        }
        NetbackCtrl c = new NetbackCtrl(dev, m, local, numQueues);
        // BACK_RING_ATTACH at the ring's rsp_prod; a req_prod more than a ring ahead is refused.
        SharedRingLayout l = c.ring.layout();
        int rspProd = l.rspProd();
        if (Integer.compareUnsigned(l.reqProd() - rspProd, Netif.CTRL_RING_SIZE) > 0) {
            c.close();
            throw new XenbusException(Errno.EINVAL, "mapping shared-frame " + ref + " port " + evtchn);
        }
        c.ring.attach(rspProd);
        self[0] = c;
        c.thread.start();
        return c;
    }

    private static int number(String v, String key) throws XenbusException {
        try {
            return Integer.parseUnsignedInt(v.strip());
        } catch (NumberFormatException e) {
            throw new XenbusException(Errno.EINVAL, "reading " + key);
        }
    }

    private void kick() {
        kicked = true;
        LockSupport.unpark(thread);
    }

    private void loop() {
        while (!stopped) {
            if (!kicked) {
                LockSupport.park(this);
                continue;
            }
            kicked = false;
            try {
                boolean notify = false;
                do {
                    while (!stopped && ring.copyNextRequest(scratch)) {
                        process(req.wrap(scratch));
                        notify |= ring.pushResponsesAndCheckNotify();
                    }
                } while (!stopped && ring.finalCheckForRequests());
                if (notify) dev.notify(port);
            } catch (RingOverflowException e) {
                dev.xenbus().printk("netback " + dev.nodename() + ": ctrl ring: " + e.getMessage());
                return;
            } catch (HypercallException e) {
                dev.xenbus().printk("netback " + dev.nodename() + ": ctrl notify: " + e.getMessage());
            }
        }
    }

    /** process_ctrl_request. */
    private void process(NetifCtrlRequest r) {
        int status = Netif.CTRL_STATUS_NOT_SUPPORTED;
        int data = 0;
        int id = r.id();
        int type = r.type();
        int d0 = r.data(0);
        int d1 = r.data(1);
        int d2 = r.data(2);
        switch (type) {
            case Netif.CTRL_TYPE_SET_HASH_ALGORITHM -> status = setAlgorithm(d0);
            case Netif.CTRL_TYPE_GET_HASH_FLAGS -> {
                if (alg == Netif.CTRL_HASH_ALGORITHM_NONE) {
                    status = Netif.CTRL_STATUS_NOT_SUPPORTED;
                } else {
                    status = Netif.CTRL_STATUS_SUCCESS;
                    data = HASH_TYPES;
                }
            }
            case Netif.CTRL_TYPE_SET_HASH_FLAGS -> status = setFlags(d0);
            case Netif.CTRL_TYPE_SET_HASH_KEY -> status = setKey(d0, d1);
            case Netif.CTRL_TYPE_GET_HASH_MAPPING_SIZE -> {
                status = Netif.CTRL_STATUS_SUCCESS;
                data = MAX_HASH_MAPPING_SIZE;
            }
            case Netif.CTRL_TYPE_SET_HASH_MAPPING_SIZE -> {
                if (Integer.compareUnsigned(d0, MAX_HASH_MAPPING_SIZE) > 0) {
                    status = Netif.CTRL_STATUS_INVALID_PARAMETER;
                } else {
                    table = new int[d0];
                    status = Netif.CTRL_STATUS_SUCCESS;
                }
            }
            case Netif.CTRL_TYPE_SET_HASH_MAPPING -> status = setMapping(d0, d1, d2);
            default -> { } // NOT_SUPPORTED (the gref mapping commands too, as in Linux)
        }
        rsp.wrap(ring.nextResponse()).set(id, type, status, data);
    }

    private int setAlgorithm(int a) {
        if (a != Netif.CTRL_HASH_ALGORITHM_NONE && a != Netif.CTRL_HASH_ALGORITHM_TOEPLITZ) {
            return Netif.CTRL_STATUS_INVALID_PARAMETER;
        }
        alg = a;
        return Netif.CTRL_STATUS_SUCCESS;
    }

    private int setFlags(int f) {
        if ((f & ~HASH_TYPES) != 0) return Netif.CTRL_STATUS_INVALID_PARAMETER;
        if (alg == Netif.CTRL_HASH_ALGORITHM_NONE) return Netif.CTRL_STATUS_INVALID_PARAMETER;
        flags = f;
        return Netif.CTRL_STATUS_SUCCESS;
    }

    /** xenvif_set_hash_key: len bytes from the frontend's grant, the rest of the 40 zeroed. */
    private int setKey(int gref, int len) {
        if (Integer.compareUnsigned(len, MAX_HASH_KEY_SIZE) > 0) return Netif.CTRL_STATUS_INVALID_PARAMETER;
        byte[] k = new byte[MAX_HASH_KEY_SIZE];
        if (len != 0) {
            MemorySegment got = copyIn(gref, len);
            if (got == null) return Netif.CTRL_STATUS_INVALID_PARAMETER;
            MemorySegment.copy(got, ValueLayout.JAVA_BYTE, 0, k, 0, len);
        }
        System.arraycopy(k, 0, key, 0, MAX_HASH_KEY_SIZE);
        return Netif.CTRL_STATUS_SUCCESS;
    }

    /**
     * xenvif_set_hash_mapping: {@code len} u32 entries from the frontend's grant into the table at {@code off},
     * on a copy of the table that replaces it only when every new entry names an existing queue.
     */
    private int setMapping(int gref, int len, int off) {
        int[] t = table;
        long end = Integer.toUnsignedLong(off) + Integer.toUnsignedLong(len);
        if (end > t.length || Integer.compareUnsigned(len, Netif.PAGE_SIZE / 4) > 0) {
            return Netif.CTRL_STATUS_INVALID_PARAMETER;
        }
        int[] next = t.clone();
        if (len != 0) {
            MemorySegment got = copyIn(gref, len * 4);
            if (got == null) return Netif.CTRL_STATUS_INVALID_PARAMETER;
            for (int i = 0; i < len; i++) next[off + i] = got.get(ValueLayout.JAVA_INT_UNALIGNED, 4L * i);
        }
        int queues = numQueues.getAsInt();
        for (int i = 0; i < len; i++) {
            if (Integer.compareUnsigned(next[off + i], queues) >= 0) return Netif.CTRL_STATUS_INVALID_PARAMETER;
        }
        table = next;
        return Netif.CTRL_STATUS_SUCCESS;
    }

    /** {@code len} bytes from offset 0 of the frontend's grant {@code gref}, or null if the copy failed. */
    private MemorySegment copyIn(int gref, int len) {
        if (!staging.ensure(len)) return null;
        batch.clear();
        staging.fromGuest(batch, gref, 0, len, 0);
        try {
            dev.xenbus().hypercalls().grantCopy(batch);
        } catch (HypercallException e) {
            return null;
        }
        for (int i = 0; i < batch.count(); i++) if (batch.status(i) != GrantStatus.OKAY.code) return null;
        staging.drain(copied, len);
        return copied;
    }

    /** The hash settings as Linux's debugfs shows them (xenvif_dump_hash_info). */
    String dump() {
        StringBuilder b = new StringBuilder();
        if (alg != Netif.CTRL_HASH_ALGORITHM_TOEPLITZ) return "Hash Algorithm: NONE\n";
        b.append("Hash Algorithm: TOEPLITZ\n");
        int f = flags;
        if (f != 0) {
            b.append("\nHash Flags:\n");
            if ((f & (1 << Netif.CTRL_HASH_TYPE_IPV4)) != 0) b.append("- IPv4\n");
            if ((f & (1 << Netif.CTRL_HASH_TYPE_IPV4_TCP)) != 0) b.append("- IPv4 + TCP\n");
            if ((f & (1 << Netif.CTRL_HASH_TYPE_IPV6)) != 0) b.append("- IPv6\n");
            if ((f & (1 << Netif.CTRL_HASH_TYPE_IPV6_TCP)) != 0) b.append("- IPv6 + TCP\n");
        }
        b.append("\nHash Key:\n");
        for (int i = 0; i < MAX_HASH_KEY_SIZE; ) {
            int n = Math.min(8, MAX_HASH_KEY_SIZE - i);
            b.append(String.format("[%2d - %2d]: ", i, i + n - 1));
            for (int j = 0; j < n; j++, i++) b.append(HexFormat.of().toHexDigits(key[i])).append(' ');
            b.append('\n');
        }
        int[] t = table;
        if (t.length != 0) {
            b.append("\nHash Mapping:\n");
            for (int i = 0; i < t.length; ) {
                int n = Math.min(8, t.length - i);
                b.append(String.format("[%4d - %4d]: ", i, i + n - 1));
                for (int j = 0; j < n; j++, i++) b.append(String.format("%4d ", t[i]));
                b.append('\n');
            }
        }
        return b.toString();
    }

    /** xenvif_disconnect_ctrl: the thread stops, the channel is unbound and the ring unmapped. */
    @Override
    public void close() {
        stopped = true;
        LockSupport.unpark(thread);
        if (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        dev.freeEvtchn(port);
        dev.unmapRing(mapping);
        staging.close();
        arena.close();
    }
}
