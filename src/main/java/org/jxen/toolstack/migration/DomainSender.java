package org.jxen.toolstack.migration;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.function.Consumer;
import org.jxen.hypervisor.HypercallException;
import org.jxen.kernel.KernelRecord;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.RetrievedConfig;

/**
 * The source side of a save or migration (libxl's domain_suspend with libxc's save): the config, then, for a
 * live migration, rounds of pages while the guest runs (all populated pages, then those written since, found by
 * the hypervisor's log-dirty mode, {@link DirtyLog}) until few are left (fewer than 50, or after 5 rounds:
 * xg_sr_save.c's simple_precopy_policy); then the suspend through the toolstack, the last pages (all of them
 * without --live), the kernel record the guest wrote into its memory at suspend, and the checksum. The domain is
 * left suspended: the caller destroys it (done) or resumes it with suspend cancelled (a checkpoint, a failure).
 */
final class DomainSender {
    /** simple_precopy_policy: stop and copy once fewer pages than this were dirtied in a round... */
    static final int PRECOPY_DIRTY_THRESHOLD = 50;
    /** ... or after this many rounds. */
    static final int PRECOPY_MAX_ROUNDS = 5;

    /** Pages per round (the last is the stop-and-copy), when the guest stopped, and the bytes sent. */
    record Stats(List<Long> pagesPerRound, long suspendedAtNanos, long bytes) {
        long pages() {
            return pagesPerRound.stream().mapToLong(Long::longValue).sum();
        }
    }

    /** The first frame a stream carries: after the console and xenstore rings. */
    static final int FIRST_SENT = Math.max(org.jxen.hypervisor.DomainLayout.CONSOLE_FRAME,
            org.jxen.hypervisor.DomainLayout.XENSTORE_FRAME) + 1;

    private DomainSender() {}

    /** Between page batches: throws when the stream should stop (the target sent its refusal). */
    interface Check {
        void check() throws IOException;
    }

    static Stats send(Host host, int domid, OutputStream raw, boolean live, Duration ackTimeout, Consumer<String> progress)
            throws IOException, HypercallException, DeviceException, InterruptedException {
        return send(host, domid, raw, live, ackTimeout, progress, () -> { });
    }

    static Stats send(Host host, int domid, OutputStream raw, boolean live, Duration ackTimeout, Consumer<String> progress,
            Check check) throws IOException, HypercallException, DeviceException, InterruptedException {
        String config = RetrievedConfig.xlCfg(host, domid);
        MemorySegment memory = host.hypervisor().domainMemory(domid);
        Path file = host.hypervisor().domainMemoryFile(domid);
        int pages = (int) (memory.byteSize() / SaveFormat.PAGE_SIZE);
        int recordFrame = KernelRecord.areaFirstFrame(pages);
        CountingStream out = new CountingStream(raw);
        SaveWriter w = new SaveWriter(out, config);
        List<Long> rounds = new ArrayList<>();
        BitSet last;
        if (live) {
            try (DirtyLog log = DirtyLog.enable(host, domid)) {
                BitSet send = PopulatedFrames.of(file, pages);
                for (int round = 1; ; round++) {
                    rounds.add(pages(w, memory, send, recordFrame, check));
                    progress.accept("round " + round + ": " + rounds.getLast() + " pages while the guest runs");
                    send = log.dirty();
                    if (send.cardinality() < PRECOPY_DIRTY_THRESHOLD || round >= PRECOPY_MAX_ROUNDS) break;
                }
                host.suspend(domid, ackTimeout);
                long stopped = System.nanoTime();
                // What the guest wrote after the last round, up to its suspend (its record area included).
                send.or(log.dirty());
                last = send;
                return finish(w, memory, last, recordFrame, rounds, stopped, out, progress, check);
            }
        }
        host.suspend(domid, ackTimeout);
        long stopped = System.nanoTime();
        last = PopulatedFrames.of(file, pages);
        return finish(w, memory, last, recordFrame, rounds, stopped, out, progress, check);
    }

    private static Stats finish(SaveWriter w, MemorySegment memory, BitSet frames, int recordFrame, List<Long> rounds,
            long stopped, CountingStream out, Consumer<String> progress, Check check) throws IOException {
        rounds.add(pages(w, memory, frames, recordFrame, check));
        progress.accept("stop-and-copy: " + rounds.getLast() + " pages with the guest suspended");
        MemorySegment area = memory.asSlice((long) recordFrame * SaveFormat.PAGE_SIZE);
        try {
            if (KernelRecord.read(area) == null) throw new IOException("the guest wrote no kernel record at suspend");
        } catch (IllegalStateException e) {
            throw new IOException("the guest's kernel record is damaged: " + e.getMessage());
        }
        int length = area.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 8);
        w.kernel(area.asSlice(0, KernelRecord.HEADER + length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        w.finish();
        return new Stats(List.copyOf(rounds), stopped, out.count);
    }

    /**
     * Sends the frames of {@code frames} between the rings and the record's area; how many. The console and
     * xenstore rings (frames 0 and 1) are not sent: the target's domain has fresh ones, which its toolstack serves
     * before the pages arrive.
     */
    private static long pages(SaveWriter w, MemorySegment memory, BitSet frames, int recordFrame, Check check)
            throws IOException {
        long n = 0;
        check.check();
        for (int f = frames.nextSetBit(FIRST_SENT); f >= 0 && f < recordFrame; f = frames.nextSetBit(f + 1)) {
            w.page(f, memory.asSlice((long) f * SaveFormat.PAGE_SIZE, SaveFormat.PAGE_SIZE));
            if (++n % SaveFormat.MAX_BATCH == 0) check.check();
        }
        return n;
    }

    private static final class CountingStream extends java.io.FilterOutputStream {
        long count;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }
    }
}
