package org.jxen.system.net;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import org.jxen.drivers.net.Netif;
import org.jxen.drivers.net.NetifRxRequest;
import org.jxen.ring.FrontRing;
import org.jxen.xenbus.FrontRings;
import org.jxen.xenbus.FrontendDriver;
import org.jxen.xenbus.RingKeys;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusState;

/**
 * A frontend that publishes netif rings like netfront but lets the test write whatever tx requests it likes:
 * one queue, split channels, request-rx-copy, feature-sg and feature-gso-tcpv4; 32 data pages granted read-only
 * to the backend, and 32 rx buffers granted writable that the test posts and whose responses it reads raw.
 */
final class HostileNetfront extends FrontendDriver<HostileNetfront.Conn> {
    static final class Conn {
        XenbusDevice dev;
        FrontRings rings;
        FrontRing tx;
        FrontRing rx;
        MemorySegment[] pages = new MemorySegment[32];
        int[] refs;
        /** Rx buffers, granted writable: the test posts them and reads the responses raw. */
        MemorySegment[] rxPages = new MemorySegment[32];
        int[] rxRefs;
        final Semaphore responses = new Semaphore(0);

        /** Posts rx buffer i for i in [0, n), id i, and kicks the backend if it asked. */
        void postRx(int n) throws Exception {
            for (int i = 0; i < n; i++) new NetifRxRequest().wrap(rx.nextRequest()).set(i, rxRefs[i]);
            if (rx.pushRequestsAndCheckNotify()) dev.notify(rings.queues().getFirst().port("rx"));
        }

        /** Publishes what was written and kicks the backend if it asked. */
        void push() throws Exception {
            if (tx.pushRequestsAndCheckNotify()) dev.notify(rings.queues().getFirst().port("tx"));
        }
    }

    /** Connections by device id, completed once connected. */
    final Map<Integer, CompletableFuture<Conn>> conns = new ConcurrentHashMap<>();

    HostileNetfront() {
        super("vif", XenbusState.CONNECTED);
    }

    CompletableFuture<Conn> conn(int devid) {
        return conns.computeIfAbsent(devid, d -> new CompletableFuture<>());
    }

    @Override
    protected Conn create(XenbusDevice dev) {
        Conn c = new Conn();
        c.dev = dev;
        return c;
    }

    @Override
    protected void connect(XenbusDevice dev, Conn c) throws Exception {
        c.rings = FrontRings.setUp(dev, new RingKeys(List.of("tx", "rx"), true), 1, 0,
                (q, ch) -> port -> { if (ch.equals("tx")) c.responses.release(); }, tx -> {
                    dev.printf(tx, "request-rx-copy", "%d", 1);
                    dev.printf(tx, "feature-rx-notify", "%d", 1);
                    dev.printf(tx, "feature-sg", "%d", 1);
                    dev.printf(tx, "feature-gso-tcpv4", "%d", 1);
                });
        c.tx = c.rings.queues().getFirst().frontRing("tx", Netif.TX_ENTRY_SIZE);
        c.rx = c.rings.queues().getFirst().frontRing("rx", Netif.RX_ENTRY_SIZE);
        for (int i = 0; i < c.pages.length; i++) c.pages[i] = dev.xenbus().allocPage();
        c.refs = dev.grantPages(true, c.pages);
        for (int i = 0; i < c.rxPages.length; i++) c.rxPages[i] = dev.xenbus().allocPage();
        c.rxRefs = dev.grantPages(false, c.rxPages);
    }

    @Override
    protected void connected(XenbusDevice dev, Conn c) {
        String node = dev.nodename();
        conn(Integer.parseInt(node.substring(node.lastIndexOf('/') + 1))).complete(c);
    }

    @Override
    protected void disconnect(XenbusDevice dev, Conn c) {
        if (c.refs != null) for (int i = 0; i < c.pages.length; i++) dev.endAccessAndFree(c.refs[i], c.pages[i]);
        c.refs = null;
        if (c.rxRefs != null) for (int i = 0; i < c.rxPages.length; i++) dev.endAccessAndFree(c.rxRefs[i], c.rxPages[i]);
        c.rxRefs = null;
        if (c.rings != null) c.rings.close();
        c.rings = null;
    }
}
