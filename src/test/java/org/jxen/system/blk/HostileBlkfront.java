package org.jxen.system.blk;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.BlkifRequest;
import org.jxen.drivers.blk.BlkifResponse;
import org.jxen.drivers.blk.Vdev;
import org.jxen.hypervisor.HypercallException;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.ring.FrontRing;
import org.jxen.xenbus.FrontRings;
import org.jxen.xenbus.RingKeys;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusDriver;
import org.jxen.xenbus.XenbusState;

/**
 * A hostile blkfront, as a guest kernel module a malicious guest could load in its place: a real xenbus
 * frontend driver for {@code vbd} devices that connects as blkfront does (talk_to_blkback with xenbus's
 * {@link FrontRings}: as many queues as the backend offers, up to 4, one ring page each), and then
 * leaves each ring to the test, which writes requests onto it with the blkif flyweights, one at a time, and reads
 * the answers: well-formed ones ({@link Queue#read}, {@link Queue#write}) or whatever it likes ({@link
 * Queue#send}, {@link Queue#breakRing}). Responses are polled; the rings' events are not handled.
 */
final class HostileBlkfront implements KernelModule {
    static final String NAME = "hostile-blkfront";
    private static final int MAX_QUEUES = 4;

    private final Map<String, CompletableFuture<Vbd>> vbds = new ConcurrentHashMap<>();
    private final Driver driver = new Driver();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        kernel.xenbus().frontend().register(driver);
    }

    @Override
    public void exit(Kernel kernel) {
        kernel.xenbus().frontend().unregister(driver);
    }

    /** The vbd called {@code name} ({@code xvda}) once it is Connected. */
    CompletableFuture<Vbd> vbd(String name) {
        return vbds.computeIfAbsent(name, n -> new CompletableFuture<>());
    }

    /** One connected vbd: its size and its queues. */
    static final class Vbd {
        private final XenbusDevice dev;
        private final List<Queue> queues = new ArrayList<>();
        private FrontRings rings;
        private long sectors;

        Vbd(XenbusDevice dev) {
            this.dev = dev;
        }

        int queues() {
            return queues.size();
        }

        Queue queue(int i) {
            return queues.get(i);
        }

        long sectors() {
            return sectors;
        }
    }

    /** One ring as the hostile kernel drives it: requests written by hand, responses read by hand. */
    static final class Queue {
        private final XenbusDevice dev;
        private final FrontRing ring;
        private final int port;
        private final MemorySegment rsp = Arena.ofAuto().allocate(Blkif.ENTRY_SIZE, 8);
        private long nextId = 0x1000;

        Queue(XenbusDevice dev, FrontRings.Queue q) {
            this.dev = dev;
            this.ring = q.frontRing("", Blkif.ENTRY_SIZE);
            this.port = q.port("");
        }

        FrontRing ring() {
            return ring;
        }

        /** Sends the event to the backend (a hostile kernel notifies whenever it likes). */
        void notifyBackend() throws HypercallException {
            dev.notify(port);
        }

        /** Puts one request (zeroed, then filled) on the ring, notifies the backend and returns its response. */
        BlkifResponse send(Consumer<MemorySegment> fill) throws Exception {
            MemorySegment slot = ring.nextRequest();
            slot.fill((byte) 0);
            fill.accept(slot);
            ring.pushRequestsAndCheckNotify();
            notifyBackend();
            BlkWireHarness.awaitTrue("a response", () -> ring.copyNextResponse(rsp));
            return new BlkifResponse().wrap(rsp);
        }

        /** A direct read or write request with the given segments ({gref, first_sect, last_sect} each). */
        BlkifResponse rw(int op, int nseg, long id, long sector, int[]... segs) throws Exception {
            return send(s -> {
                BlkifRequest r = new BlkifRequest().wrap(s).set(op, nseg, 0, id, sector);
                for (int i = 0; i < segs.length; i++) r.setSegment(i, segs[i][0], segs[i][1], segs[i][2]);
            });
        }

        /** A well-formed read of {@code count} sectors (at most 88) into pages granted for it. */
        byte[] read(long sector, int count) throws Exception {
            byte[] data = new byte[count * Blkif.SECTOR_SIZE];
            transfer(Blkif.OP_READ, sector, data);
            return data;
        }

        /** A well-formed write of {@code data} (whole sectors, at most 88) from pages granted for it. */
        void write(long sector, byte[] data) throws Exception {
            transfer(Blkif.OP_WRITE, sector, data);
        }

        private void transfer(int op, long sector, byte[] data) throws Exception {
            int sectors = data.length / Blkif.SECTOR_SIZE;
            int n = (sectors + Blkif.SECTORS_PER_PAGE - 1) / Blkif.SECTORS_PER_PAGE;
            if (n < 1 || n > Blkif.MAX_SEGMENTS_PER_REQUEST) throw new IllegalArgumentException(sectors + " sectors");
            MemorySegment[] pages = new MemorySegment[n];
            for (int i = 0; i < n; i++) pages[i] = dev.xenbus().allocPage();
            int[] refs = dev.grantRing(pages);
            try {
                if (op == Blkif.OP_WRITE) {
                    for (int i = 0; i < n; i++) {
                        int len = Math.min(Blkif.PAGE_SIZE, data.length - i * Blkif.PAGE_SIZE);
                        MemorySegment.copy(data, i * Blkif.PAGE_SIZE, pages[i], ValueLayout.JAVA_BYTE, 0, len);
                    }
                }
                long id = nextId++;
                int lastOfLast = (sectors - 1) % Blkif.SECTORS_PER_PAGE;
                BlkifResponse r = send(s -> {
                    BlkifRequest req = new BlkifRequest().wrap(s).set(op, n, 0, id, sector);
                    for (int i = 0; i < n; i++) req.setSegment(i, refs[i], 0, i == n - 1 ? lastOfLast : Blkif.SECTORS_PER_PAGE - 1);
                });
                if (r.id() != id || r.status() != Blkif.RSP_OKAY) {
                    throw new IOException(Blkif.opName(op) + " at " + sector + ": id " + r.id() + ", status " + r.status());
                }
                if (op == Blkif.OP_READ) {
                    for (int i = 0; i < n; i++) {
                        int len = Math.min(Blkif.PAGE_SIZE, data.length - i * Blkif.PAGE_SIZE);
                        MemorySegment.copy(pages[i], ValueLayout.JAVA_BYTE, 0, data, i * Blkif.PAGE_SIZE, len);
                    }
                }
            } finally {
                for (int i = 0; i < n; i++) dev.endAccessAndFree(refs[i], pages[i]);
            }
        }

        /** The request producer jumps 1000 requests ahead of the responses (a broken ring), then an event. */
        void breakRing() throws HypercallException {
            ring.layout().setReqProd(ring.layout().rspProd() + 1000);
            notifyBackend();
        }

    }

    private final class Driver implements XenbusDriver {
        private final Map<XenbusDevice, Vbd> devices = new ConcurrentHashMap<>();

        @Override
        public List<String> ids() {
            return List.of("vbd");
        }

        @Override
        public void probe(XenbusDevice dev) {
            devices.put(dev, new Vbd(dev));
        }

        @Override
        public void otherendChanged(XenbusDevice dev, XenbusState backend) {
            Vbd v = devices.get(dev);
            try {
                switch (backend) {
                    case INIT_WAIT -> {
                        if (dev.state() == XenbusState.INITIALISING) setUp(dev, v);
                    }
                    case CONNECTED -> {
                        if (dev.state() != XenbusState.INITIALISED) return;
                        v.sectors = Long.parseLong(dev.readOtherend("sectors").strip());
                        dev.switchState(XenbusState.CONNECTED);
                        vbd(name(dev)).complete(v);
                    }
                    case CLOSING, CLOSED -> dev.switchState(XenbusState.CLOSED);
                    default -> {
                    }
                }
            } catch (IOException | HypercallException | RuntimeException e) {
                dev.xenbus().printk(NAME + ": " + dev.nodename() + ": " + e);
            }
        }

        private void setUp(XenbusDevice dev, Vbd v) throws IOException, HypercallException {
            int offered;
            try {
                offered = Integer.parseInt(dev.readOtherend("multi-queue-max-queues").strip());
            } catch (IOException | NumberFormatException e) {
                offered = 1;
            }
            int n = Math.max(1, Math.min(offered, MAX_QUEUES));
            // No event handlers: the test polls for responses.
            v.rings = FrontRings.setUp(dev, RingKeys.single(""), n, 0, (q, channel) -> null,
                    tx -> dev.printf(tx, "protocol", "%s", Blkif.PROTOCOL_X86_64));
            for (FrontRings.Queue q : v.rings.queues()) v.queues.add(new Queue(dev, q));
            dev.switchState(XenbusState.INITIALISED);
        }

        @Override
        public void remove(XenbusDevice dev) {
            Vbd v = devices.remove(dev);
            if (v == null) return;
            if (v.rings != null) v.rings.close();
            vbds.remove(name(dev));
        }

        private static String name(XenbusDevice dev) {
            return Vdev.name(Integer.parseInt(dev.nodename().substring(dev.nodename().lastIndexOf('/') + 1)));
        }
    }
}
