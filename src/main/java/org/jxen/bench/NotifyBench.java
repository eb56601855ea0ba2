package org.jxen.bench;

import java.util.List;
import java.util.function.IntSupplier;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.EventWord;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;

/**
 * Event-channel notification between dom0 (in the host) and a guest, in-process or in its own JVM, with both
 * event threads in one delivery mode. Two phases on one channel: the ping-pong (latency = half round trip), then
 * a flood (dom0's thread sends as fast as it can; the guest counts handler calls). Pending bits coalesce, so
 * deliveries may be fewer than sends; both are reported.
 */
final class NotifyBench {
    /** Sends between clock reads in the flood: keeps nanoTime off the per-send cost. */
    private static final int SEND_BURST = 64;
    /** A counter unchanged for this long means every delivery has happened. */
    private static final long QUIET_NANOS = 20_000_000L;

    private final HvBenchContext ctx;

    NotifyBench(HvBenchContext ctx) {
        this.ctx = ctx;
    }

    /** @param fifo both domains on the FIFO event-channel ABI (dom0 stays on it for the rest of the run) */
    List<HvRow> run(boolean crossProcess, Delivery delivery, boolean fifo) throws Exception {
        String mode = (crossProcess ? "cross-process" : "in-process") + ", receiver "
                + (delivery == Delivery.BLOCKING ? "blocked" : "polling") + (fifo ? ", FIFO" : "");
        if (fifo && ctx.dom0().maxChannels() != EventWord.NR_CHANNELS) ctx.dom0().useFifo(topDown(ctx.dom0()));
        try (BenchGuest guest = new BenchGuest(ctx.dom0(), 16)) {
            int guestPort = ctx.dom0().domainControl().allocUnbound(guest.domid, 0);
            int port = ctx.dom0().bindInterdomain(guest.domid, guestPort);
            guest.page.command(BenchPage.ECHO);
            if (crossProcess) {
                guest.launch(ctx.service(), "echo", Integer.toString(guestPort), delivery.name(),
                        fifo ? "fifo" : "2l");
            } else {
                Hypercalls g = guest.inProcess(ctx.hv());
                if (fifo) g.useFifo(topDown(g));
                g.setEventHandler(new EchoHandler(g, guest.page), delivery);
            }
            HvRow latency;
            // A dom0 view of its own, because a view's delivery mode is fixed when its event thread starts; closed
            // before the flood so that a polling dom0 thread does not take a core from the sender and receiver.
            try (Hypercalls dom0 = ctx.hv().connect(0)) {
                PingPong pp = delivery == Delivery.BLOCKING ? PingPong.toBlockedReceiver(dom0, port, guest.domid)
                        : PingPong.backToBack(dom0, port);
                dom0.setEventHandler(pp, delivery);
                latency = pingPong(pp, mode, crossProcess, delivery);
            }
            guest.page.command(BenchPage.RUN);
            List<HvRow> flood = flood(ctx.dom0(), port, guest.page, mode);
            ctx.dom0().closePort(port);
            return List.of(latency, flood.get(0), flood.get(1));
        }
    }

    /** Frames for the FIFO pages from the top of a domain's memory, clear of the bench's own low frames. */
    static IntSupplier topDown(Hypercalls hc) {
        int[] next = {hc.layout().memoryPages()};
        return () -> {
            if (next[0] <= BenchPage.FRAME + 1) throw new IllegalStateException("out of memory (ENOMEM)");
            return --next[0];
        };
    }

    private HvRow pingPong(PingPong pp, String mode, boolean crossProcess, Delivery delivery) throws Exception {
        pp.start();
        ctx.sleep(ctx.warmupSeconds());
        pp.record(true);
        long t0 = System.nanoTime();
        ctx.sleep(ctx.seconds());
        // A polling pair spins on both cores; on a loaded 2-core machine it can be starved for a whole short
        // window. Keep recording until at least one round trip is in (a dead chain still ends as "lost").
        long cap = System.nanoTime() + 10_000_000_000L;
        while (pp.rounds() == 0 && System.nanoTime() < cap) Thread.sleep(1);
        pp.record(false);
        double secs = (System.nanoTime() - t0) / 1e9;
        long lost = pp.stop() ? 0 : 1;
        long p50 = pp.halfRtt.percentile(50);
        HvRow.Target target = null;
        if (crossProcess) {
            long limit = delivery == Delivery.BLOCKING ? 20_000 : 1_000;
            target = new HvRow.Target("p50 < " + limit / 1000 + " us", p50 < limit);
        }
        return new HvRow("notify half-RTT", mode, pp.rounds() / secs, "round trips/s", pp.rounds(), secs, p50,
                pp.halfRtt.percentile(99), pp.errors() + lost, target);
    }

    private List<HvRow> flood(Hypercalls dom0, int port, BenchPage page, String mode) throws Exception {
        sendFor(dom0, port, ctx.warmupSeconds());
        quiesce(page);
        long before = page.count();
        long t0 = System.nanoTime();
        long[] sent = sendFor(dom0, port, ctx.seconds());
        double secs = (System.nanoTime() - t0) / 1e9;
        quiesce(page);
        long delivered = page.count() - before;
        return List.of(
                new HvRow("notify sends", mode, sent[0] / secs, "sends/s", sent[0], secs, -1, -1, sent[1], null),
                new HvRow("notify deliveries", mode, delivered / secs, "deliveries/s", delivered, secs, -1, -1, 0,
                        null));
    }

    /** Sends on {@code port} for {@code seconds}; returns {sends, failed sends}. */
    private static long[] sendFor(Hypercalls dom0, int port, double seconds) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long sends = 0;
        long errors = 0;
        do {
            for (int i = 0; i < SEND_BURST; i++) {
                try {
                    dom0.send(port);
                } catch (HypercallException e) {
                    errors++;
                }
            }
            sends += SEND_BURST;
        } while (System.nanoTime() < end);
        return new long[] {sends, errors};
    }

    private static void quiesce(BenchPage page) throws InterruptedException {
        long last = page.count();
        long since = System.nanoTime();
        while (System.nanoTime() - since < QUIET_NANOS) {
            Thread.sleep(1);
            long now = page.count();
            if (now != last) {
                last = now;
                since = System.nanoTime();
            }
        }
    }
}
