package org.jxen.drivers.blk.back;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.BlkifRequest;
import org.jxen.drivers.blk.BlkifRequestIndirect;
import org.jxen.drivers.blk.BlkifSegment;
import org.jxen.drivers.blk.back.BlkRig.Rsp;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.GrantStatus;
import org.jxen.hypervisor.GrantTable;

/** blkback's persistent grants ({@link PersistentGrants}) under the request processor, on a real in-process hypervisor. */
@Timeout(120)
class PersistentGrantsTest {
    private static final long MiB = 1 << 20;
    @TempDir
    Path dir;

    private final Random rnd = new Random(3);
    private final AtomicInteger maps = new AtomicInteger();
    private final AtomicInteger live = new AtomicInteger();
    private PersistentGrants pg;

    /** real mapper -> counting -> PersistentGrants(max) -> processor. */
    private UnaryOperator<GrantMapper> persistent(int max) {
        return real -> {
            GrantMapper counting = new GrantMapper() {
                @Override
                public GrantMapping map(int ref, boolean ro) throws GrantException {
                    GrantMapping m = real.map(ref, ro);
                    maps.incrementAndGet();
                    live.incrementAndGet();
                    return m;
                }

                @Override
                public void unmap(GrantMapping m) {
                    real.unmap(m);
                    live.decrementAndGet();
                }
            };
            pg = new PersistentGrants(counting, max);
            return pg;
        };
    }

    @Test
    void manyRequestsReuseOneMappingPerRefAndTheDataIsRight() throws Exception {
        try (BlkRig rig = new BlkRig(dir, 4 * MiB, false, 22, 0, persistent(PersistentGrants.DEFAULT_MAX))) {
            long id = 0;
            for (int round = 0; round < 200; round++) {
                int sectors = 1 + rnd.nextInt(88);
                long sector = rnd.nextInt(8000);
                byte[] data = random(sectors * 512);
                submit(rig, Blkif.OP_WRITE, id, sector, sectors, 0, data);
                assertThat(rig.runOne()).isEqualTo(new Rsp(id++, Blkif.OP_WRITE, Blkif.RSP_OKAY));
                submit(rig, Blkif.OP_READ, id, sector, sectors, 11, null);
                assertThat(rig.runOne()).isEqualTo(new Rsp(id++, Blkif.OP_READ, Blkif.RSP_OKAY));
                assertThat(gathered(rig, 11, sectors)).isEqualTo(data);
            }
            // Each of the 22 refs was mapped once, then served from the cache.
            assertThat(maps).hasValue(22);
            assertThat(pg.size()).isEqualTo(22);
            assertThat(live).hasValue(22);
            assertThat(pg.hits()).isGreaterThan(1000);
            assertThat(pg.transientMaps()).isZero();
            // Kept mappings hold the grants: the guest cannot end access until the backend lets go.
            assertThat(rig.guest.grantTable().endAccess(rig.ref(0))).isFalse();
            pg.releaseAll();
            assertThat(live).hasValue(0);
            assertThat(pg.size()).isZero();
            for (int i = 0; i < 22; i++) assertThat(rig.guest.grantTable().endAccess(rig.ref(i))).isTrue();
        }
    }

    @Test
    void aReusedRefIsReadAndWrittenWithItsCurrentContent() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 2, 0, persistent(PersistentGrants.DEFAULT_MAX))) {
            byte[] a = random(4096);
            byte[] b = random(4096);
            // The same ref carries A to sector 0, then (rewritten by the frontend) B to sector 8.
            submit(rig, Blkif.OP_WRITE, 1, 0, 8, 0, a);
            assertThat(rig.runOne()).isEqualTo(new Rsp(1, Blkif.OP_WRITE, Blkif.RSP_OKAY));
            submit(rig, Blkif.OP_WRITE, 2, 8, 8, 0, b);
            assertThat(rig.runOne()).isEqualTo(new Rsp(2, Blkif.OP_WRITE, Blkif.RSP_OKAY));
            // Two requests on that ref in one batch, the page rewritten before the backend runs: both see B (the
            // backend reads the page at I/O time, never a copy taken when the ref was first mapped).
            submit(rig, Blkif.OP_WRITE, 3, 16, 8, 0, a);
            submit(rig, Blkif.OP_WRITE, 4, 24, 8, 0, b);
            assertThat(rig.run()).hasSize(2).allMatch(r -> r.status() == Blkif.RSP_OKAY);
            assertThat(fileBytes(rig.image, 0, 32)).isEqualTo(concat(a, b, b, b));
            // Reads into one reused page: each read's data replaces the last.
            submit(rig, Blkif.OP_READ, 5, 8, 8, 1, null);
            assertThat(rig.runOne().status()).isEqualTo(Blkif.RSP_OKAY);
            assertThat(gathered(rig, 1, 8)).isEqualTo(b);
            submit(rig, Blkif.OP_READ, 6, 0, 8, 1, null);
            assertThat(rig.runOne().status()).isEqualTo(Blkif.RSP_OKAY);
            assertThat(gathered(rig, 1, 8)).isEqualTo(a);
            assertThat(maps).hasValue(2);
            pg.releaseAll();
            assertThat(live).hasValue(0);
        }
    }

    @Test
    void beyondTheLimitRefsAreMappedPerRequest() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 4, 0, persistent(2))) {
            byte[] data = random(4 * 4096);
            for (int i = 0; i < 3; i++) {
                submit(rig, Blkif.OP_WRITE, i, 0, 32, 0, data);
                assertThat(rig.runOne().status()).isEqualTo(Blkif.RSP_OKAY);
                assertThat(live).as("only the kept ones stay mapped").hasValue(2);
            }
            assertThat(fileBytes(rig.image, 0, 32)).isEqualTo(data);
            assertThat(pg.size()).isEqualTo(2);
            assertThat(pg.transientMaps()).isEqualTo(6);
            assertThat(maps).hasValue(2 + 6);
            pg.releaseAll();
            assertThat(live).hasValue(0);
            for (int i = 0; i < 4; i++) assertThat(rig.guest.grantTable().endAccess(rig.ref(i))).isTrue();
        }
    }

    @Test
    void aReadOnlyGrantServesDiskWritesButNotReadsAndIsNeverKept() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 1, 0, persistent(PersistentGrants.DEFAULT_MAX))) {
            int ro = rig.guest.grantTable().grantAccess(0, BlkRig.FIRST_DATA_FRAME, true);
            byte[] data = random(4096);
            MemorySegment.copy(data, 0, rig.page(0), ValueLayout.JAVA_BYTE, 0, 4096);
            rig.nextRequest().set(Blkif.OP_WRITE, 1, 0, 1, 0).setSegment(0, ro, 0, 7);
            rig.nextRequest().set(Blkif.OP_READ, 1, 0, 2, 0).setSegment(0, ro, 0, 7);
            assertThat(rig.run()).containsExactly(new Rsp(1, Blkif.OP_WRITE, Blkif.RSP_OKAY),
                    new Rsp(2, Blkif.OP_READ, Blkif.RSP_ERROR));
            assertThat(fileBytes(rig.image, 0, 8)).isEqualTo(data);
            assertThat(pg.size()).isZero();
            assertThat(live).hasValue(0);
            assertThat(rig.guest.grantTable().endAccess(ro)).isTrue();
        }
    }

    @Test
    void indirectRequestsKeepTheirDescriptorPagesAndDataPages() throws Exception {
        try (BlkRig rig = new BlkRig(dir, 4 * MiB, false, 40 + 8, 64, persistent(PersistentGrants.DEFAULT_MAX))) {
            for (int round = 0; round < 5; round++) {
                byte[] data = random(40 * 4096);
                long sector = 8L * rnd.nextInt(500);
                BlkifRequestIndirect r = new BlkifRequestIndirect().wrap(rig.front.nextRequest())
                        .set(Blkif.OP_WRITE, 40, round, sector, 0);
                r.setIndirectGref(0, rig.ref(40));
                for (int i = 0; i < 40; i++) {
                    BlkifSegment.set(rig.page(40), (long) i * BlkifSegment.SIZE, rig.ref(i), 0, 7);
                    MemorySegment.copy(data, i * 4096, rig.page(i), ValueLayout.JAVA_BYTE, 0, 4096);
                }
                assertThat(rig.runOne().status()).isEqualTo(Blkif.RSP_OKAY);
                assertThat(fileBytes(rig.image, sector, 320)).isEqualTo(data);
            }
            assertThat(maps).hasValue(41);
            pg.releaseAll();
            assertThat(live).hasValue(0);
        }
    }

    @Test
    void aRequestWhoseLastGrantFailsKeepsTheCachedOnesAndUnmapsTheTransientOnes() throws Exception {
        // Limit 2: refs 0 and 1 are kept, ref 2 is mapped per request, the fourth segment names a bad ref.
        try (BlkRig rig = new BlkRig(dir, MiB, false, 3, 0, persistent(2))) {
            rig.nextRequest().set(Blkif.OP_READ, 4, 0, 1, 0).setSegment(0, rig.ref(0), 0, 7)
                    .setSegment(1, rig.ref(1), 0, 7).setSegment(2, rig.ref(2), 0, 7).setSegment(3, 4000, 0, 7);
            assertThat(rig.runOne()).isEqualTo(new Rsp(1, Blkif.OP_READ, Blkif.RSP_ERROR));
            assertThat(pg.size()).isEqualTo(2);
            assertThat(live).as("the kept two only").hasValue(2);
            assertThat(pg.transientMaps()).isEqualTo(1);
            // The same refs then serve a good request from the cache.
            byte[] data = random(3 * 4096);
            submit(rig, Blkif.OP_WRITE, 2, 0, 24, 0, data);
            assertThat(rig.runOne()).isEqualTo(new Rsp(2, Blkif.OP_WRITE, Blkif.RSP_OKAY));
            assertThat(fileBytes(rig.image, 0, 24)).isEqualTo(data);
            assertThat(maps).hasValue(2 + 2); // ref 2 mapped once per request
            pg.releaseAll();
            assertThat(live).hasValue(0);
        }
    }

    @Test
    void mapAllFillsTheArrayAndUnmapAllClearsIt() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 3, 0, persistent(PersistentGrants.DEFAULT_MAX))) {
            GrantMapping[] out = new GrantMapping[4];
            int[] refs = {rig.ref(0), rig.ref(1), rig.ref(2), rig.ref(0)};
            pg.mapAll(refs, 4, false, out);
            assertThat(out).extracting(GrantMapping::ref).containsExactly(rig.ref(0), rig.ref(1), rig.ref(2), rig.ref(0));
            assertThat(out[3]).isSameAs(out[0]); // one mapping per ref
            assertThat(maps).hasValue(3);
            pg.unmapAll(out, 4);
            assertThat(out).containsOnlyNulls();
            assertThat(live).as("kept until releaseAll").hasValue(3);
            pg.releaseAll();
            assertThat(live).hasValue(0);
        }
    }

    /**
     * Refs anywhere in a grant table's range are kept, each mapped once, wherever the ref lies; refs outside it
     * (negative, at or above GrantTable.MAX_ENTRIES) are never kept and reach the mapper every time, which
     * refuses them as the hypervisor does. Checked against a model over seeded random refs.
     */
    @Test
    void refsAcrossTheWholeTableAreKeptOnceAndRefsOutsideItNever() throws Exception {
        Map<Integer, Integer> mapsPerRef = new HashMap<>();
        Set<Integer> unmapped = new HashSet<>();
        GrantMapper fake = new GrantMapper() {
            @Override
            public GrantMapping map(int ref, boolean ro) throws GrantException {
                mapsPerRef.merge(ref, 1, Integer::sum);
                if (ref < 0 || ref >= GrantTable.MAX_ENTRIES) {
                    throw new GrantException(GrantStatus.BAD_GNTREF, "ref " + ref);
                }
                return new GrantMapping(ref + 1000, 7, ref, ro, MemorySegment.NULL);
            }

            @Override
            public void unmap(GrantMapping m) {
                assertThat(unmapped.add(m.ref())).as("unmapped twice: %d", m.ref()).isTrue();
            }
        };
        int maxEntries = GrantTable.MAX_ENTRIES;
        PersistentGrants cache = new PersistentGrants(fake, maxEntries);
        List<Integer> refs = new ArrayList<>(List.of(0, 1, 63, 64, 65, 2047, 2048,
                maxEntries - 1, maxEntries, maxEntries + 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE));
        for (int i = 0; i < 3000; i++) refs.add(rnd.nextInt(maxEntries + 100) - 50);
        Set<Integer> valid = new TreeSet<>();
        for (int round = 0; round < 2; round++) {
            for (int ref : refs) {
                boolean inRange = ref >= 0 && ref < maxEntries;
                if (inRange) {
                    GrantMapping m = cache.map(ref, false);
                    assertThat(m.ref()).isEqualTo(ref);
                    assertThat(cache.map(ref, true)).isSameAs(m);
                    cache.unmap(m); // kept: does nothing
                    valid.add(ref);
                } else {
                    int r = ref;
                    assertThatThrownBy(() -> cache.map(r, false))
                            .isInstanceOf(GrantException.class);
                }
            }
        }
        assertThat(cache.size()).isEqualTo(valid.size());
        for (int ref : valid) assertThat(mapsPerRef.get(ref)).as("ref %d", ref).isEqualTo(1);
        for (int ref : refs) {
            if (ref < 0 || ref >= maxEntries) assertThat(mapsPerRef.get(ref)).as("ref %d", ref).isGreaterThanOrEqualTo(2);
        }
        assertThat(unmapped).isEmpty();
        cache.releaseAll();
        assertThat(unmapped).containsExactlyInAnyOrderElementsOf(valid);
        assertThat(cache.size()).isZero();
        assertThat(cache.map(5, false)).isNotNull(); // usable again
        assertThat(mapsPerRef.get(5)).isEqualTo(valid.contains(5) ? 2 : 1);
    }

    private byte[] random(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }

    /** A direct request of {@code sectors} (<= 88) over pages first.., 8 sectors a page; data goes to the pages. */
    private static void submit(BlkRig rig, int op, long id, long sector, int sectors, int firstPage, byte[] data) {
        int nseg = (sectors + 7) / 8;
        BlkifRequest r = rig.nextRequest().set(op, nseg, 0, id, sector);
        for (int i = 0; i < nseg; i++) {
            int n = Math.min(8, sectors - i * 8);
            r.setSegment(i, rig.ref(firstPage + i), 0, n - 1);
            if (data != null) MemorySegment.copy(data, i * 4096, rig.page(firstPage + i), ValueLayout.JAVA_BYTE, 0, n * 512);
        }
    }

    private static byte[] gathered(BlkRig rig, int firstPage, int sectors) {
        byte[] out = new byte[sectors * 512];
        for (int i = 0; i * 8 < sectors; i++) {
            int n = Math.min(8, sectors - i * 8);
            MemorySegment.copy(rig.page(firstPage + i), ValueLayout.JAVA_BYTE, 0, out, i * 4096, n * 512);
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
