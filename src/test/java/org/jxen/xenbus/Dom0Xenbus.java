package org.jxen.xenbus;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstored.XenStoredServer;

/**
 * dom0's xenbus and nothing above it: an in-process hypervisor and xenstored, dom0's store connection and its
 * Xenbus, whose printk lines are kept for the test. What a bus test needs without a kernel or a toolstack.
 */
final class Dom0Xenbus implements AutoCloseable {
    final Hypervisor hv;
    final XenStoredServer xenstored;
    final XsClient xs;
    final Xenbus xenbus;
    private final List<String> log = new CopyOnWriteArrayList<>();
    private final LinkedBlockingQueue<String> printed = new LinkedBlockingQueue<>();

    Dom0Xenbus(Path dir) throws Exception {
        hv = new Hypervisor(dir.resolve("hv"), 64);
        Hypercalls dom0 = hv.connect(0);
        dom0.setEventHandler(port -> {}, Delivery.BLOCKING);
        xenstored = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("xs.sock"), null));
        xs = new XsClient(xenstored.connectInProcess(0));
        xenbus = new Xenbus(dom0, xs, new PageAllocator() {
            @Override
            public MemorySegment alloc() {
                throw new IllegalStateException("bus tests allocate no pages");
            }

            @Override
            public void free(MemorySegment page) {}

            @Override
            public int frameOf(MemorySegment page) {
                throw new IllegalStateException("bus tests grant no pages");
            }
        }, line -> {
            log.add(line);
            printed.add(line);
        });
    }

    /** A running guest domain of {@code pages} pages with its own xenbus (its store connection in-process). */
    Xenbus guest(int pages) throws Exception {
        int id = xenbus.hypercalls().domainControl().createDomain(pages, 1);
        xenbus.hypercalls().domainControl().unpause(id);
        Hypercalls hc = hv.connect(id);
        hc.setEventHandler(port -> {}, Delivery.BLOCKING);
        // The toolstack gives the domain its home, as libxl does before the guest boots.
        xs.mkdir("/local/domain/" + id);
        xs.setPerms("/local/domain/" + id, org.jxen.xenstore.XsPerms.parse(java.util.List.of("n" + id, "r0")));
        return new Xenbus(hc, new XsClient(xenstored.connectInProcess(id)), new GuestPages(hc), line -> {});
    }

    /** Frames from 2 up (0 and 1 are the console and xenstore pages), never given back twice. */
    private static final class GuestPages implements PageAllocator {
        private final Hypercalls hc;
        private final java.util.BitSet used = new java.util.BitSet();

        GuestPages(Hypercalls hc) {
            this.hc = hc;
        }

        @Override
        public synchronized MemorySegment alloc() {
            int frame = used.nextClearBit(2);
            if (frame >= hc.layout().memoryPages()) throw new IllegalStateException("out of memory (ENOMEM)");
            used.set(frame);
            return hc.frame(frame).fill((byte) 0);
        }

        @Override
        public synchronized void free(MemorySegment page) {
            used.clear(frameOf(page));
        }

        @Override
        public int frameOf(MemorySegment page) {
            return (int) ((page.address() - hc.memory().address()) / 4096);
        }
    }

    /** Waits for dom0's xenbus to print {@code line}. */
    void awaitLine(String line) throws InterruptedException {
        if (log.contains(line)) return;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            long left = deadline - System.nanoTime();
            String l = left > 0 ? printed.poll(left, TimeUnit.NANOSECONDS) : null;
            assertThat(l).as("waiting for log line \"%s\"; log: %s", line, log).isNotNull();
            if (l.equals(line)) return;
        }
    }

    @Override
    public void close() throws Exception {
        xs.close();
        xenstored.close();
        hv.close();
    }
}
