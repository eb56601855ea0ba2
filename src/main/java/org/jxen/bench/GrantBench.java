package org.jxen.bench;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import org.jxen.hypervisor.Hypercalls;

/**
 * Grant map+unmap and grant copy. In-process: an in-process guest grants and dom0 maps or copies. Cross-process:
 * dom0 grants and a guest JVM maps or copies, because only the issuing side goes through the RPC (a guest
 * process's hypercalls cross the socket; dom0's are direct calls even when the granter is a process).
 */
final class GrantBench {
    /** First frame used for benchmark pages: clear of the console, xenstore and {@link BenchPage} frames. */
    private static final int FIRST_FRAME = 8;
    private static final int BATCH = GuestOps.COPY_BATCH;
    private static final long BATCH_BYTES = (long) BATCH * GuestOps.PAGE;
    /** Pages in the hot working set (one batch: 256 KiB, stays in cache) and the cold one (32 MiB, does not). */
    static final int HOT_PAGES = BATCH;
    static final int COLD_PAGES = 8192;
    private static final double TARGET_RATIO = 0.8;

    private final HvBenchContext ctx;

    GrantBench(HvBenchContext ctx) {
        this.ctx = ctx;
    }

    HvRow mapInProcess() throws Exception {
        try (BenchGuest guest = new BenchGuest(ctx.dom0(), 16)) {
            Hypercalls g = guest.inProcess(ctx.hv());
            int ref = g.grantTable().grantAccess(0, FIRST_FRAME, false);
            TimedLoop.Result r = TimedLoop.run(ctx.warmupSeconds(), ctx.seconds(),
                    GuestOps.mapUnmap(ctx.dom0(), guest.domid, ref));
            return mapRow("in-process", r);
        }
    }

    HvRow mapCrossProcess() throws Exception {
        int ref = -1;
        try (BenchGuest guest = new BenchGuest(ctx.dom0(), 16)) {
            ref = ctx.dom0().grantTable().grantAccess(guest.domid, FIRST_FRAME, false);
            guest.launch(ctx.service(), "map", "0", Integer.toString(ref), num(ctx.warmupSeconds()),
                    num(ctx.seconds()));
            return mapRow("cross-process", awaitResult(guest));
        } finally {
            if (ref >= 0) ctx.dom0().grantTable().endAccess(ref);
        }
    }

    private static HvRow mapRow(String mode, TimedLoop.Result r) {
        return new HvRow("grant map+unmap", mode, r.count() / r.seconds(), "pairs/s", r.count(), r.seconds(),
                r.p50Nanos(), r.p99Nanos(), r.errors(), null);
    }

    List<HvRow> copyInProcess(int pages) throws Exception {
        try (BenchGuest guest = new BenchGuest(ctx.dom0(), FIRST_FRAME + pages)) {
            Hypercalls g = guest.inProcess(ctx.hv());
            int[] refs = new int[pages];
            for (int i = 0; i < pages; i++) refs[i] = g.grantTable().grantAccess(0, FIRST_FRAME + i, true);
            TimedLoop.Result copy = TimedLoop.run(ctx.warmupSeconds(), ctx.seconds(),
                    GuestOps.copyBatch(ctx.dom0(), guest.domid, refs, FIRST_FRAME));
            TimedLoop.Result plain = plainCopy(g.memory(), FIRST_FRAME, ctx.dom0().memory(), FIRST_FRAME, pages);
            return copyRows("in-process", pages, copy, plain);
        }
    }

    List<HvRow> copyCrossProcess(int pages) throws Exception {
        Hypercalls dom0 = ctx.dom0();
        int[] refs = new int[pages];
        try (BenchGuest guest = new BenchGuest(dom0, FIRST_FRAME + pages)) {
            StringJoiner list = new StringJoiner(",");
            for (int i = 0; i < pages; i++) {
                refs[i] = dom0.grantTable().grantAccess(guest.domid, FIRST_FRAME + i, true);
                list.add(Integer.toString(refs[i]));
            }
            guest.launch(ctx.service(), "copy", "0", list.toString(), Integer.toString(FIRST_FRAME),
                    num(ctx.warmupSeconds()), num(ctx.seconds()));
            TimedLoop.Result copy = awaitResult(guest);
            // The floor is taken in the host, after the guest finished: the host is where the hypervisor copies,
            // and it copies the very bytes the hypercalls did (dom0's granted frames into the guest's frames),
            // between mappings of the same two files.
            MemorySegment guestMemory = guest.inProcess(ctx.hv()).memory();
            TimedLoop.Result plain = plainCopy(dom0.memory(), FIRST_FRAME, guestMemory, FIRST_FRAME, pages);
            return copyRows("cross-process", pages, copy, plain);
        } finally {
            for (int ref : refs) {
                if (ref != 0) dom0.grantTable().endAccess(ref);
            }
        }
    }

    /**
     * The same pages copied with MemorySegment.copy, one 4 KiB copy per op as the hypervisor does it, cycling
     * through the batches exactly as the grant copy does.
     */
    private TimedLoop.Result plainCopy(MemorySegment from, int fromFrame, MemorySegment to, int toFrame, int pages) {
        int batches = Math.max(1, pages / BATCH);
        int[] next = {0};
        return TimedLoop.run(ctx.warmupSeconds(), ctx.seconds(), () -> {
            long base = (long) next[0] * BATCH * GuestOps.PAGE;
            next[0] = (next[0] + 1) % batches;
            long src = (long) fromFrame * GuestOps.PAGE + base;
            long dst = (long) toFrame * GuestOps.PAGE + base;
            for (int i = 0; i < BATCH; i++) {
                long off = (long) i * GuestOps.PAGE;
                MemorySegment.copy(from, src + off, to, dst + off, GuestOps.PAGE);
            }
            return 0;
        });
    }

    private static List<HvRow> copyRows(String where, int pages, TimedLoop.Result copy, TimedLoop.Result plain) {
        String mode = where + (pages > BATCH ? ", cold " + pages * GuestOps.PAGE / (1024 * 1024) + " MiB set"
                : ", hot " + pages * GuestOps.PAGE / 1024 + " KiB set");
        double copyGbs = copy.count() * BATCH_BYTES / copy.seconds() / 1e9;
        double plainGbs = plain.count() * BATCH_BYTES / plain.seconds() / 1e9;
        double ratio = plainGbs > 0 ? copyGbs / plainGbs : 0;
        List<HvRow> rows = new ArrayList<>();
        rows.add(new HvRow("grant copy 64 x 4 KiB", mode, copyGbs, "GB/s", copy.count(), copy.seconds(),
                copy.p50Nanos(), copy.p99Nanos(), copy.errors(), null));
        rows.add(new HvRow("plain copy 64 x 4 KiB", mode, plainGbs, "GB/s", plain.count(), plain.seconds(),
                plain.p50Nanos(), plain.p99Nanos(), plain.errors(), null));
        rows.add(new HvRow("grant copy / plain copy", mode, ratio * 100, "%", copy.count(), copy.seconds(), -1, -1,
                copy.errors() + plain.errors(), new HvRow.Target(">= 80% of plain copy", ratio >= TARGET_RATIO)));
        return rows;
    }

    /** Waits for the guest's published loop result; a guest that died or overran reports one error and no ops. */
    private TimedLoop.Result awaitResult(BenchGuest guest) throws InterruptedException {
        boolean ok = guest.awaitDone(ctx.warmupSeconds() + ctx.seconds() + 30);
        return ok ? guest.page.result() : new TimedLoop.Result(0, 1, 1, -1, -1);
    }

    private static String num(double d) {
        return Double.toString(d);
    }
}
