package org.jxen.drivers.net.front;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jxen.drivers.net.Netif;
import org.jxen.drivers.net.NetifCtrlRequest;
import org.jxen.drivers.net.NetifCtrlResponse;
import org.jxen.hypervisor.HypercallException;
import org.jxen.ring.FrontRing;
import org.jxen.ring.SharedRingLayout;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenstore.client.XsClient;

/**
 * The frontend end of a vif's control ring (netif.h "Control ring"; Linux's netfront has none, Windows PV
 * drivers use it for RSS): one page granted to the backend and a channel, published as {@code ctrl-ring-ref} and
 * {@code event-channel-ctrl} with the data rings. {@link #call} sends one request and waits for its response.
 */
public final class NetfrontCtrl implements AutoCloseable {
    /** A response: its status (XEN_NETIF_CTRL_STATUS_*) and data. */
    public record Answer(int status, int data) {}

    private final XenbusDevice dev;
    private final MemorySegment page;
    private final int ref;
    private final int port;
    private final FrontRing ring;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition answered = lock.newCondition();
    private final MemorySegment scratch = MemorySegment.ofArray(new byte[Netif.CTRL_ENTRY_SIZE]);
    private final NetifCtrlRequest req = new NetifCtrlRequest();
    private final NetifCtrlResponse rsp = new NetifCtrlResponse();
    private int nextId;
    /** Pages granted for commands' data, with their refs: ended at close. */
    private final java.util.Map<Integer, MemorySegment> data = new java.util.concurrent.ConcurrentHashMap<>();

    private NetfrontCtrl(XenbusDevice dev, MemorySegment page, int ref, int port) {
        this.dev = dev;
        this.page = page;
        this.ref = ref;
        this.port = port;
        this.ring = new FrontRing(new SharedRingLayout(page, Netif.CTRL_ENTRY_SIZE)).init();
    }

    /** A ring page granted and a channel allocated; nothing is written yet (see {@link #writeKeys}). */
    static NetfrontCtrl allocate(XenbusDevice dev) throws HypercallException {
        MemorySegment page = dev.xenbus().allocPage();
        int ref;
        try {
            ref = dev.grantRing(page)[0];
        } catch (HypercallException e) {
            dev.xenbus().freePage(page);
            throw e;
        }
        NetfrontCtrl[] self = new NetfrontCtrl[1];
        int port;
        try {
            port = dev.allocEvtchn(p -> {
                NetfrontCtrl c = self[0];
                if (c != null) c.wake();
            });
        } catch (HypercallException e) {
            dev.endAccessAndFree(ref, page);
            throw e;
        }
        self[0] = new NetfrontCtrl(dev, page, ref, port);
        return self[0];
    }

    void writeKeys(XsClient.Tx tx) throws IOException {
        dev.printf(tx, "ctrl-ring-ref", "%d", ref);
        dev.printf(tx, "event-channel-ctrl", "%d", port);
    }

    private void wake() {
        lock.lock();
        try {
            answered.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Sends request {@code type} with its three data words and waits (up to 30 s) for the response. */
    public Answer call(int type, int d0, int d1, int d2) throws IOException {
        lock.lock();
        try {
            int id = nextId++ & 0xFFFF;
            req.wrap(ring.nextRequest()).set(id, type, d0, d1, d2);
            if (ring.pushRequestsAndCheckNotify()) dev.notify(port);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                if (ring.copyNextResponse(scratch)) {
                    rsp.wrap(scratch);
                    if (rsp.id() != id || rsp.type() != type) {
                        throw new IOException("ctrl response id " + rsp.id() + " type " + rsp.type() + " for request "
                                + id + " type " + type);
                    }
                    return new Answer(rsp.status(), rsp.data());
                }
                if (ring.finalCheckForResponses()) continue;
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new IOException("no ctrl response from the backend");
                answered.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
            }
        } catch (HypercallException e) {
            throw new IOException("notifying the backend: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } finally {
            lock.unlock();
        }
    }

    /** A page holding {@code bytes} granted read-only to the backend (a hash key, a mapping table): its ref. */
    public int grant(byte[] bytes) throws HypercallException {
        if (bytes.length > Netif.PAGE_SIZE) throw new IllegalArgumentException(bytes.length + " bytes: more than a page");
        MemorySegment p = dev.xenbus().allocPage();
        MemorySegment.copy(bytes, 0, p, ValueLayout.JAVA_BYTE, 0, bytes.length);
        int ref;
        try {
            ref = dev.grantPages(true, p)[0];
        } catch (HypercallException e) {
            dev.xenbus().freePage(p);
            throw e;
        }
        data.put(ref, p);
        return ref;
    }

    /** Ends a grant {@link #grant} made, and frees its page. */
    public void ungrant(int ref) {
        MemorySegment p = data.remove(ref);
        if (p != null) dev.endAccessAndFree(ref, p);
    }

    @Override
    public void close() {
        for (Integer ref : java.util.List.copyOf(data.keySet())) ungrant(ref);
        dev.freeEvtchn(port);
        dev.endAccessAndFree(ref, page);
    }
}
