package org.jxen.drivers.blk.back;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.BlkifRequest;
import org.jxen.drivers.blk.BlkifRequestDiscard;
import org.jxen.drivers.blk.BlkifRequestIndirect;
import org.jxen.drivers.blk.BlkifSegment;
import org.jxen.drivers.blk.back.BlkRig.Rsp;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.GrantStatus;
import org.jxen.ring.SharedRingLayout;

/** blkback's data path against a real in-process hypervisor: guest grants and ring, dom0 maps and serves. */
@Timeout(120)
class BlkbackRequestProcessorTest {
    private static final long MiB = 1 << 20;
    @TempDir
    Path dir;

    private final Random rnd = new Random(42);

    @Test
    void blkifRingHas32SlotsOnOnePage() {
        assertThat(Blkif.ENTRY_SIZE).isEqualTo(112);
        assertThat(SharedRingLayout.slots(4096, Blkif.ENTRY_SIZE)).isEqualTo(32);
    }

    @Test
    void writeThenReadEverySizeOfDirectRequest() throws Exception {
        try (BlkRig rig = new BlkRig(dir, 4 * MiB, false, 22, 0)) {
            long id = 100;
            for (int sectors : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 40, 64, 87, 88}) {
                long sector = rnd.nextInt(8000);
                byte[] data = random(sectors * 512);
                // Write from pages 0..10 (segments of 8 sectors, the last one partial), read into 11..21.
                submit(rig, Blkif.OP_WRITE, id, sector, sectors, 0, data);
                assertThat(rig.runOne()).isEqualTo(new Rsp(id++, Blkif.OP_WRITE, Blkif.RSP_OKAY));
                assertThat(fileBytes(rig.image, sector, sectors)).isEqualTo(data);
                submit(rig, Blkif.OP_READ, id, sector, sectors, 11, null);
                assertThat(rig.runOne()).isEqualTo(new Rsp(id++, Blkif.OP_READ, Blkif.RSP_OKAY));
                assertThat(gathered(rig, 11, sectors)).isEqualTo(data);
            }
        }
    }

    @Test
    void segmentsStartingMidPageAreCoalescedInOrder() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 3, 0)) {
            byte[] disk = random(3 * 512 + 8 * 512 + 2 * 512);
            MemorySegment p0 = rig.page(0), p1 = rig.page(1), p2 = rig.page(2);
            MemorySegment.copy(disk, 0, p0, java.lang.foreign.ValueLayout.JAVA_BYTE, 5 * 512, 3 * 512);
            MemorySegment.copy(disk, 3 * 512, p1, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, 8 * 512);
            MemorySegment.copy(disk, 11 * 512, p2, java.lang.foreign.ValueLayout.JAVA_BYTE, 2 * 512, 2 * 512);
            rig.nextRequest().set(Blkif.OP_WRITE, 3, 0, 7, 17)
                    .setSegment(0, rig.ref(0), 5, 7).setSegment(1, rig.ref(1), 0, 7).setSegment(2, rig.ref(2), 2, 3);
            assertThat(rig.runOne().status()).isEqualTo(Blkif.RSP_OKAY);
            assertThat(fileBytes(rig.image, 17, 13)).isEqualTo(disk);
        }
    }

    @Test
    void indirectRequestsUpToTheProtocolMaximum() throws Exception {
        int max = Blkif.MAX_INDIRECT_SEGMENTS; // 4096 segments, 16 MiB
        try (BlkRig rig = new BlkRig(dir, 40 * MiB, false, max + 8, max)) {
            long id = 1;
            for (int nseg : new int[] {1, 11, 12, 511, 512, 513, 1025, 4095, max}) {
                long sector = rnd.nextInt(1000) * 8L;
                int sectors = nseg * 8;
                byte[] data = random(sectors * 512);
                submitIndirect(rig, Blkif.OP_WRITE, id, sector, nseg, data);
                assertThat(rig.runOne()).isEqualTo(new Rsp(id++, Blkif.OP_WRITE, Blkif.RSP_OKAY));
                assertThat(fileBytes(rig.image, sector, sectors)).isEqualTo(data);
                for (int i = 0; i < nseg; i++) rig.page(i).fill((byte) 0);
                submitIndirect(rig, Blkif.OP_READ, id, sector, nseg, null);
                assertThat(rig.runOne()).isEqualTo(new Rsp(id++, Blkif.OP_READ, Blkif.RSP_OKAY));
                assertThat(gathered(rig, 0, sectors)).isEqualTo(data);
            }
        }
    }

    @Test
    void indirectLimitsAndInnerOperation() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 40, 32)) {
            submitIndirect(rig, Blkif.OP_READ, 1, 0, 33, null); // above the advertised 32
            assertThat(rig.runOne()).isEqualTo(new Rsp(1, Blkif.OP_READ, Blkif.RSP_ERROR));
            submitIndirect(rig, Blkif.OP_READ, 2, 0, 0, null);
            assertThat(rig.runOne()).isEqualTo(new Rsp(2, Blkif.OP_READ, Blkif.RSP_ERROR));
            submitIndirect(rig, Blkif.OP_FLUSH_DISKCACHE, 3, 0, 4, null); // only READ/WRITE may be indirect
            assertThat(rig.runOne()).isEqualTo(new Rsp(3, Blkif.OP_FLUSH_DISKCACHE, Blkif.RSP_ERROR));
        }
        Path other = Files.createDirectories(dir.resolve("noindirect"));
        try (BlkRig rig = new BlkRig(other, MiB, false, 40, 0)) {
            submitIndirect(rig, Blkif.OP_READ, 4, 0, 4, null);
            assertThat(rig.runOne()).isEqualTo(new Rsp(4, Blkif.OP_READ, Blkif.RSP_EOPNOTSUPP));
        }
    }

    @Test
    void indirectDescriptorsAreValidatedLikeDirectOnes() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 40, 32)) {
            submitIndirect(rig, Blkif.OP_READ, 5, 0, 20, null);
            BlkifSegment.set(rig.page(32), 7 * BlkifSegment.SIZE, rig.ref(7), 3, 2); // first_sect > last_sect
            assertThat(rig.runOne().status()).isEqualTo(Blkif.RSP_ERROR);
            submitIndirect(rig, Blkif.OP_READ, 6, 0, 20, null);
            BlkifSegment.set(rig.page(32), 19 * BlkifSegment.SIZE, rig.ref(19), 0, 8); // last_sect beyond the page
            assertThat(rig.runOne().status()).isEqualTo(Blkif.RSP_ERROR);
            submitIndirect(rig, Blkif.OP_READ, 7, 0, 20, null);
            new BlkifRequestIndirect().wrap(rig.front.requestSlot(rig.front.reqProdPvt() - 1)).setIndirectGref(0, 99999);
            assertThat(rig.runOne().status()).isEqualTo(Blkif.RSP_ERROR); // the indirect page itself is bad
        }
    }

    @Test
    void flushAndBarrier() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 11, 0)) {
            rig.nextRequest().set(Blkif.OP_FLUSH_DISKCACHE, 0, 0, 9, 0);
            assertThat(rig.runOne()).isEqualTo(new Rsp(9, Blkif.OP_FLUSH_DISKCACHE, Blkif.RSP_OKAY));
            byte[] data = random(16 * 512);
            submit(rig, Blkif.OP_FLUSH_DISKCACHE, 10, 64, 16, 0, data); // a flush may carry data
            assertThat(rig.runOne()).isEqualTo(new Rsp(10, Blkif.OP_FLUSH_DISKCACHE, Blkif.RSP_OKAY));
            assertThat(fileBytes(rig.image, 64, 16)).isEqualTo(data);
            byte[] more = random(8 * 512);
            submit(rig, Blkif.OP_WRITE_BARRIER, 11, 200, 8, 0, more);
            assertThat(rig.runOne()).isEqualTo(new Rsp(11, Blkif.OP_WRITE_BARRIER, Blkif.RSP_OKAY));
            assertThat(fileBytes(rig.image, 200, 8)).isEqualTo(more);
        }
    }

    @Test
    void discardPunchesAHoleThatReadsAsZeros() throws Exception {
        try (BlkRig rig = new BlkRig(dir, 4 * MiB, false, 11, 0)) {
            byte[] data = random(88 * 512);
            submit(rig, Blkif.OP_WRITE, 1, 0, 88, 0, data);
            assertThat(rig.runOne().status()).isEqualTo(Blkif.RSP_OKAY);
            new BlkifRequestDiscard().wrap(rig.front.nextRequest()).set(0, 0, 2, 8, 64);
            assertThat(rig.runOne()).isEqualTo(new Rsp(2, Blkif.OP_DISCARD, Blkif.RSP_OKAY));
            byte[] expect = data.clone();
            java.util.Arrays.fill(expect, 8 * 512, 72 * 512, (byte) 0);
            assertThat(fileBytes(rig.image, 0, 88)).isEqualTo(expect);
            assertThat(Files.size(rig.image)).isEqualTo(4 * MiB); // FALLOC_FL_KEEP_SIZE
            new BlkifRequestDiscard().wrap(rig.front.nextRequest()).set(Blkif.DISCARD_SECURE, 0, 3, 8192 - 4, 5);
            assertThat(rig.runOne()).isEqualTo(new Rsp(3, Blkif.OP_DISCARD, Blkif.RSP_ERROR)); // past the end
        }
    }

    @Test
    void malformedRequestsAreAnsweredWithErrors() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 12, 0)) {
            long last = MiB / 512;
            rig.nextRequest().set(Blkif.OP_READ, 1, 0, 1, last).setSegment(0, rig.ref(0), 0, 0); // one past the end
            rig.nextRequest().set(Blkif.OP_READ, 2, 0, 2, last - 8).setSegment(0, rig.ref(0), 0, 7)
                    .setSegment(1, rig.ref(1), 0, 0); // straddles the end
            rig.nextRequest().set(Blkif.OP_READ, 1, 0, 3, -1L).setSegment(0, rig.ref(0), 0, 0); // wraps 2^64
            rig.nextRequest().set(Blkif.OP_READ, 12, 0, 4, 0); // too many segments
            rig.nextRequest().set(Blkif.OP_WRITE, 0, 0, 5, 0); // no segments
            rig.nextRequest().set(Blkif.OP_READ, 1, 0, 6, 0).setSegment(0, rig.ref(0), 4, 3); // first > last
            rig.nextRequest().set(Blkif.OP_READ, 1, 0, 7, 0).setSegment(0, rig.ref(0), 0, 8); // last beyond page
            rig.nextRequest().set(Blkif.OP_READ, 1, 0, 8, 0).setSegment(0, 4000, 0, 0); // grant never made
            rig.nextRequest().set(Blkif.OP_READ, 2, 0, 9, 0).setSegment(0, rig.ref(0), 0, 7)
                    .setSegment(1, 3, 0, 7); // second grant is a reserved ref not made out to dom0
            rig.nextRequest().set(Blkif.OP_RESERVED_1, 0, 0, 10, 0);
            rig.nextRequest().set(200, 0, 0, 11, 0);
            rig.nextRequest().set(Blkif.OP_READ, 1, 0, 12, last - 1).setSegment(0, rig.ref(0), 7, 7); // ok: last
            List<Rsp> r = rig.run();
            assertThat(r).containsExactly(
                    new Rsp(1, 0, Blkif.RSP_ERROR), new Rsp(2, 0, Blkif.RSP_ERROR), new Rsp(3, 0, Blkif.RSP_ERROR),
                    new Rsp(4, 0, Blkif.RSP_ERROR), new Rsp(5, 1, Blkif.RSP_ERROR), new Rsp(6, 0, Blkif.RSP_ERROR),
                    new Rsp(7, 0, Blkif.RSP_ERROR), new Rsp(8, 0, Blkif.RSP_ERROR), new Rsp(9, 0, Blkif.RSP_ERROR),
                    new Rsp(10, 4, Blkif.RSP_EOPNOTSUPP), new Rsp(11, 200, Blkif.RSP_EOPNOTSUPP),
                    new Rsp(12, 0, Blkif.RSP_OKAY));
            // Every grant mapped along the way was given back: the guest can end access to all of them.
            for (int i = 0; i < 12; i++) assertThat(rig.guest.grantTable().endAccess(rig.ref(i))).isTrue();
        }
    }

    @Test
    void readOnlyDiskRefusesWritesFlushesAndDiscards() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, true, 11, 16)) {
            byte[] before = Files.readAllBytes(rig.image);
            submit(rig, Blkif.OP_WRITE, 1, 0, 8, 0, random(8 * 512));
            submitIndirect(rig, Blkif.OP_WRITE, 2, 0, 1, random(8 * 512));
            rig.nextRequest().set(Blkif.OP_FLUSH_DISKCACHE, 0, 0, 3, 0);
            new BlkifRequestDiscard().wrap(rig.front.nextRequest()).set(0, 0, 4, 0, 8);
            submit(rig, Blkif.OP_READ, 5, 0, 8, 0, null);
            assertThat(rig.run()).containsExactly(new Rsp(1, 1, Blkif.RSP_ERROR), new Rsp(2, 1, Blkif.RSP_ERROR),
                    new Rsp(3, 3, Blkif.RSP_ERROR), new Rsp(4, 5, Blkif.RSP_ERROR), new Rsp(5, 0, Blkif.RSP_OKAY));
            assertThat(Files.readAllBytes(rig.image)).isEqualTo(before);
        }
    }

    @Test
    void aFailedGrantMapMidRequestUnmapsTheOthers() throws Exception {
        AtomicInteger live = new AtomicInteger();
        UnaryOperator<GrantMapper> counting = real -> new GrantMapper() {
            @Override
            public GrantMapping map(int ref, boolean ro) throws GrantException {
                if (ref == 13) throw new GrantException(GrantStatus.BAD_GNTREF, "injected");
                GrantMapping m = real.map(ref, ro);
                live.incrementAndGet();
                return m;
            }

            @Override
            public void unmap(GrantMapping m) {
                real.unmap(m);
                live.decrementAndGet();
            }
        };
        try (BlkRig rig = new BlkRig(dir, MiB, false, 11, 0, counting)) {
            rig.nextRequest().set(Blkif.OP_READ, 3, 0, 1, 0).setSegment(0, rig.ref(0), 0, 7)
                    .setSegment(1, rig.ref(1), 0, 7).setSegment(2, 13, 0, 7);
            assertThat(rig.runOne()).isEqualTo(new Rsp(1, 0, Blkif.RSP_ERROR));
            assertThat(live).hasValue(0);
        }
    }

    @Test
    void theRequestIsCopiedBeforeValidation() throws Exception {
        // A frontend that rewrites its slot after the copy must not influence the request being served.
        List<Integer> seen = new ArrayList<>();
        BlkRig[] holder = new BlkRig[1];
        try (BlkRig rig = new BlkRig(dir, MiB, false, 2, 0, real -> beforeEachMap(real, ref -> {
            seen.add(ref);
            // Hostile: rewrite the shared slot (segment count and gref) while the backend works on it.
            new BlkifRequest().wrap(holder[0].front.requestSlot(0)).set(Blkif.OP_READ, 11, 0, 1, 0)
                    .setSegment(0, 4000, 0, 7);
        }))) {
            holder[0] = rig;
            rig.nextRequest().set(Blkif.OP_READ, 2, 0, 1, 0).setSegment(0, rig.ref(0), 0, 7).setSegment(1, rig.ref(1), 0, 7);
            assertThat(rig.runOne()).isEqualTo(new Rsp(1, 0, Blkif.RSP_OKAY));
            assertThat(seen).containsExactly(rig.ref(0), rig.ref(1));
        }
    }

    @Test
    void aFullRingIsServedAndNotifiedOnce() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 32, 0)) {
            for (int i = 0; i < 32; i++) {
                rig.nextRequest().set(Blkif.OP_READ, 1, 0, i, i * 8L).setSegment(0, rig.ref(i), 0, 7);
            }
            List<Rsp> r = rig.run();
            assertThat(r).hasSize(32).allMatch(x -> x.status() == Blkif.RSP_OKAY);
            assertThat(r.stream().mapToLong(Rsp::id).toArray()).containsExactly(java.util.stream.LongStream.range(0, 32).toArray());
            assertThat(rig.notifications).isEqualTo(1); // rsp_event was rsp_cons + 1 = 1
            assertThat(rig.back.layout().reqEvent()).isEqualTo(33); // re-armed for the next request
        }
    }

    @Test
    void largeResponsesArePushedAtOnceSmallOnesAtTheEndOfTheBatch() throws Exception {
        // Three 64 KiB indirect reads, then three 4 KiB reads, all pending at one wake-up. Each request maps
        // ref 0 first: record the rsp_prod the frontend can see at that moment.
        List<Integer> published = new ArrayList<>();
        BlkRig[] holder = new BlkRig[1];
        try (BlkRig rig = new BlkRig(dir, MiB, false, 24, 32, real -> beforeEachMap(real, ref -> {
            if (ref == holder[0].ref(0)) published.add(holder[0].front.layout().rspProd());
        }))) {
            holder[0] = rig;
            int nseg = (int) (BlkbackRequestProcessor.PUSH_AT_ONCE_BYTES / Blkif.PAGE_SIZE);
            for (int i = 0; i < 3; i++) submitIndirect(rig, Blkif.OP_READ, i, i * 128L, nseg, null);
            for (int i = 3; i < 6; i++) submit(rig, Blkif.OP_READ, i, i * 8L, 8, 0, null);
            List<Rsp> r = rig.run();
            assertThat(r).extracting(Rsp::status).containsOnly(Blkif.RSP_OKAY);
            assertThat(r).extracting(Rsp::id).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
            // Each large read's response was published before the next request started; the small ones only
            // after the batch.
            assertThat(published).containsExactly(0, 1, 2, 3, 3, 3);
            assertThat(rig.front.layout().rspProd()).isEqualTo(6);
            // rsp_event stayed at 1 (the frontend consumed nothing meanwhile): a single event for six responses.
            assertThat(rig.notifications).isEqualTo(1);
        }
    }

    @Test
    void overflowedIndicesHaltTheRingWithoutThrowing() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 2, 0)) {
            rig.nextRequest().set(Blkif.OP_READ, 1, 0, 1, 0).setSegment(0, rig.ref(0), 0, 7);
            assertThat(rig.runOne().status()).isEqualTo(Blkif.RSP_OKAY);
            rig.front.layout().setReqProd(1 + 33); // hostile: 33 requests past rsp_prod on a 32-slot ring
            int rspProd = rig.front.layout().rspProd();
            assertThat(rig.processor.processPending()).isFalse();
            assertThat(rig.processor.failure()).isNotNull();
            assertThat(rig.processor.processPending()).isFalse(); // stays broken, never touches the ring again
            assertThat(rig.front.layout().rspProd()).isEqualTo(rspProd);
            assertThat(rig.processor.completed()).isEqualTo(1);
        }
    }

    // --- helpers -------------------------------------------------------------------------------------------

    private byte[] random(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    /** A direct request of {@code sectors} (<= 88) over pages first.., 8 sectors a page; data goes to the pages. */
    /** {@code real}, with {@code hook} run on each ref just before it is mapped. */
    private static GrantMapper beforeEachMap(GrantMapper real, java.util.function.IntConsumer hook) {
        return new GrantMapper() {
            @Override
            public GrantMapping map(int ref, boolean ro) throws GrantException {
                hook.accept(ref);
                return real.map(ref, ro);
            }

            @Override
            public void unmap(GrantMapping m) {
                real.unmap(m);
            }
        };
    }

    private static void submit(BlkRig rig, int op, long id, long sector, int sectors, int firstPage, byte[] data) {
        int nseg = (sectors + 7) / 8;
        BlkifRequest r = rig.nextRequest().set(op, nseg, 0, id, sector);
        for (int i = 0; i < nseg; i++) {
            int n = Math.min(8, sectors - i * 8);
            r.setSegment(i, rig.ref(firstPage + i), 0, n - 1);
            if (data != null) {
                MemorySegment.copy(data, i * 4096, rig.page(firstPage + i), java.lang.foreign.ValueLayout.JAVA_BYTE, 0, n * 512);
            }
        }
    }

    /** An indirect request of whole pages 0..nseg-1; descriptors in the last 8 data pages. */
    private static void submitIndirect(BlkRig rig, int op, long id, long sector, int nseg, byte[] data) {
        int pages = rig.dataRefs.size();
        BlkifRequestIndirect r = new BlkifRequestIndirect().wrap(rig.front.nextRequest()).set(op, nseg, id, sector, 0);
        for (int p = 0; p < Blkif.MAX_INDIRECT_PAGES_PER_REQUEST; p++) r.setIndirectGref(p, rig.ref(pages - 8 + p));
        for (int i = 0; i < nseg; i++) {
            MemorySegment ind = rig.page(pages - 8 + i / Blkif.SEGMENTS_PER_INDIRECT_PAGE);
            BlkifSegment.set(ind, (long) (i % Blkif.SEGMENTS_PER_INDIRECT_PAGE) * BlkifSegment.SIZE, rig.ref(i), 0, 7);
            if (data != null) {
                MemorySegment.copy(data, i * 4096, rig.page(i), java.lang.foreign.ValueLayout.JAVA_BYTE, 0, 4096);
            }
        }
    }

    private static byte[] gathered(BlkRig rig, int firstPage, int sectors) {
        byte[] out = new byte[sectors * 512];
        for (int i = 0; i * 8 < sectors; i++) {
            int n = Math.min(8, sectors - i * 8);
            MemorySegment.copy(rig.page(firstPage + i), java.lang.foreign.ValueLayout.JAVA_BYTE, 0, out, i * 4096, n * 512);
        }
        return out;
    }

    private static byte[] fileBytes(Path image, long sector, int sectors) throws Exception {
        try (var ch = java.nio.channels.FileChannel.open(image)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(sectors * 512);
            ch.read(b, sector * 512);
            return b.array();
        }
    }
}
