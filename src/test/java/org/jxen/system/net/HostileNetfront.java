package org.jxen.system.net;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import org.jxen.drivers.net.Netif;
import org.jxen.ring.FrontRing;
import org.jxen.xenbus.FrontRings;
import org.jxen.xenbus.FrontendDriver;
import org.jxen.xenbus.RingKeys;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusState;

/**
 * A frontend that publishes netif rings like netfront but lets the test write whatever tx requests it likes:
 * one queue, split channels, request-rx-copy; 32 data pages granted read-only to the backend.
 */
final class HostileNetfront extends FrontendDriver<HostileNetfront.Conn> {
    static final class Conn {
        XenbusDevice dev;
        FrontRings rings;
        FrontRing tx;
        MemorySegment[] pages = new MemorySegment[32];
        int[] refs;
        final Semaphore responses = new Semaphore(0);

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
                });
        c.tx = c.rings.queues().getFirst().frontRing("tx", Netif.TX_ENTRY_SIZE);
        c.rings.queues().getFirst().frontRing("rx", Netif.RX_ENTRY_SIZE);
        for (int i = 0; i < c.pages.length; i++) c.pages[i] = dev.xenbus().allocPage();
        c.refs = dev.grantPages(true, c.pages);
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
        if (c.rings != null) c.rings.close();
        c.rings = null;
    }
}
