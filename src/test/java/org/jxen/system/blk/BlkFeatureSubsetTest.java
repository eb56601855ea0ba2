package org.jxen.system.blk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jxen.system.blk.BlkWireHarness.WAIT;
import static org.jxen.system.blk.BlkWireHarness.be;
import static org.jxen.system.blk.BlkWireHarness.fe;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.back.BlkBack;
import org.jxen.drivers.blk.front.BlkFront;
import org.jxen.drivers.blk.front.BlockFront;
import org.jxen.drivers.blk.front.BlockIOException;
import org.jxen.hypervisor.GrantEntry;
import org.jxen.hypervisor.GrantTable;
import org.jxen.kernel.Kernel;
import org.jxen.system.TestGuestKernel;
import org.jxen.toolstack.Host;

/**
 * blkback's feature keys against blkfront, one backend configuration at a time: what blkback advertises, what
 * blkfront (its defaults: 4 queues, ring order 2, 256 indirect segments, feature-persistent on) picks from it,
 * and that the data, flush and discard behave under that choice. Then a frontend asking for more than blkback's
 * maximum (queues, ring order) is refused as Linux blkback's connect_ring refuses it.
 */
@Timeout(300)
class BlkFeatureSubsetTest extends BlkWireFixture {
    static final int MIB = 1 << 20;
    static final int DEVID = 51712;
    /** One sector, 4 KiB, 12 pages (one more than a direct request's 11 segments), 1 MiB. */
    static final int[] SIZES = {1, 8, 96, 2048};

    /**
     * A backend configuration (blkback's parameters, and xl's {@code no-discard} on the disk) and what blkfront
     * must end up with: queues, ring order, segments per request, persistent grants, flush, discard.
     */
    record Subset(String name, BlkBack.Params backend, boolean noDiscard, int queues, int order, int segments,
            boolean persistent, boolean flush, boolean discard) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Subset> subsets() {
        BlkBack.Params all = BlkBack.Params.DEFAULT;
        return Stream.of(
                new Subset("all features", all, false, 4, 2, 256, true, true, true),
                new Subset("no indirect segments", new BlkBack.Params(0, 3, 4), false, 4, 2, 11, true, true, true),
                new Subset("ring order 0, one queue", new BlkBack.Params(256, 0, 1), false, 1, 0, 256, true, true, true),
                new Subset("two queues of order 1, 32 indirect segments", new BlkBack.Params(32, 1, 2), false,
                        2, 1, 32, true, true, true),
                new Subset("no persistent grants", all.withFeaturePersistent(false), false, 4, 2, 256, false, true, true),
                new Subset("no flush, no discard", all.withFeatureFlushCache(false), true, 4, 2, 256, true, false, false),
                new Subset("nothing but one page and one queue",
                        new BlkBack.Params(0, 0, 1).withFeaturePersistent(false).withFeatureFlushCache(false), true,
                        1, 0, 11, false, false, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("subsets")
    void theFrontendUsesWhatTheBackendOffersAndTheDataStaysIntact(Subset s) throws Exception {
        reloadBlkback(s.backend());
        Path img = BlkWireHarness.image(dir, "disk.img", 16 * MIB, 21);
        Host.Guest g = h.guest("g1");
        h.attach(g.domid(), (s.noDiscard() ? "no-discard, " : "") + "format=raw, vdev=xvda, access=rw, target=" + img);
        BlockFront d = h.disk(g.domid(), "xvda");

        checkOffer(be(g.domid(), DEVID), s);
        checkChoice(g.domid(), d, s);
        checkData(d, img, s);
        checkFlushAndDiscard(d, img, s);
    }

    /** The backend's directory holds exactly the subset's offer; discard keys only when discard is on. */
    private void checkOffer(String be, Subset s) throws Exception {
        BlkBack.Params p = s.backend();
        assertThat(h.readOrNull(be + "/feature-max-indirect-segments")).isEqualTo(Integer.toString(p.maxIndirectSegments()));
        assertThat(h.readOrNull(be + "/max-ring-page-order")).isEqualTo(Integer.toString(p.maxRingPageOrder()));
        assertThat(h.readOrNull(be + "/multi-queue-max-queues")).isEqualTo(Integer.toString(p.maxQueues()));
        assertThat(h.readOrNull(be + "/feature-persistent")).isEqualTo(p.featurePersistent() ? "1" : "0");
        assertThat(h.readOrNull(be + "/feature-flush-cache")).isEqualTo(s.flush() ? "1" : "0");
        assertThat(h.readOrNull(be + "/feature-barrier")).isEqualTo("0");
        assertThat(h.readOrNull(be + "/discard-enable")).isEqualTo(s.noDiscard() ? "0" : "1");
        // xen_blkbk_discard: with discard-enable = 0 nothing at all is written, not even feature-discard = 0.
        assertThat(h.readOrNull(be + "/feature-discard")).isEqualTo(s.discard() ? "1" : null);
        assertThat(h.readOrNull(be + "/discard-granularity")).isEqualTo(s.discard() ? "4096" : null);
        assertThat(h.readOrNull(be + "/discard-alignment")).isEqualTo(s.discard() ? "0" : null);
        assertThat(h.readOrNull(be + "/discard-secure")).isEqualTo(s.discard() ? "0" : null);
    }

    /**
     * The frontend's keys follow Linux blkfront's talk_to_blkback: ring-page-order only above 0 (then ring-ref0..,
     * else a single ring-ref), multi-queue-num-queues and queue-N/ only with more than one queue. Every ring ref
     * is a grant to dom0 that blkback has mapped, so the backend took the same layout.
     */
    private void checkChoice(int domid, BlockFront d, Subset s) throws Exception {
        String fe = fe(domid, DEVID);
        assertThat(h.readOrNull(fe + "/ring-page-order")).isEqualTo(s.order() == 0 ? null : Integer.toString(s.order()));
        assertThat(h.readOrNull(fe + "/multi-queue-num-queues")).isEqualTo(s.queues() == 1 ? null : Integer.toString(s.queues()));
        assertThat(h.readOrNull(fe + "/protocol")).isEqualTo("x86_64-abi");
        assertThat(h.readOrNull(fe + "/feature-persistent")).isEqualTo("1");

        List<String> ringKeys = s.order() == 0 ? List.of("ring-ref")
                : IntStream.range(0, 1 << s.order()).mapToObj(i -> "ring-ref" + i).toList();
        List<String> perQueue = Stream.concat(ringKeys.stream(), Stream.of("event-channel")).toList();
        List<String> top = h.xs.directory(fe).stream()
                .filter(k -> k.startsWith("ring-ref") || k.equals("event-channel") || k.startsWith("queue-")).toList();
        List<String> queueDirs;
        if (s.queues() == 1) {
            assertThat(top).containsExactlyInAnyOrderElementsOf(perQueue);
            queueDirs = List.of(fe);
        } else {
            List<String> names = IntStream.range(0, s.queues()).mapToObj(q -> "queue-" + q).toList();
            assertThat(top).containsExactlyInAnyOrderElementsOf(names);
            queueDirs = names.stream().map(n -> fe + "/" + n).toList();
            for (String q : queueDirs) assertThat(h.xs.directory(q)).containsExactlyInAnyOrderElementsOf(perQueue);
        }
        GrantTable grants = h.kernel(domid).hypercalls().grantTable();
        Set<Integer> refs = new HashSet<>();
        Set<String> ports = new HashSet<>();
        for (String q : queueDirs) {
            for (String k : ringKeys) refs.add(Integer.parseInt(h.readOrNull(q + "/" + k)));
            ports.add(h.readOrNull(q + "/event-channel"));
        }
        assertThat(refs).hasSize(s.queues() << s.order());
        assertThat(ports).hasSize(s.queues());
        for (int ref : refs) {
            int fd = grants.flagsAndDomid(ref);
            assertThat(GrantEntry.domid(fd)).as("ring ref %d granted to", ref).isZero();
            assertThat(GrantEntry.flags(fd) & GrantEntry.GTF_WRITING).as("ring ref %d mapped by dom0", ref).isNotZero();
        }

        assertThat(d.queues()).isEqualTo(s.queues());
        assertThat(d.queueDepth()).isEqualTo(s.queues() * (32 << s.order())); // 112-byte slots: 32 per page
        assertThat(d.segmentsPerRequest()).isEqualTo(s.segments());
        assertThat(d.persistentGrants()).isEqualTo(s.persistent());
        assertThat(d.flushSupported()).isEqualTo(s.flush());
        assertThat(d.discardSupported()).isEqualTo(s.discard());
        List<String> connected = connectedLines();
        assertThat(connected).hasSize(1);
        assertThat(connected.getFirst()).contains(": connected " + s.queues() + " queue(s), " + (16 * MIB / 512) + " sectors");
        assertThat(connected.getFirst().contains("persistent grants")).isEqualTo(s.persistent());
    }

    /** Ring requests a read or write of {@code sectors} takes: split into parts of at most {@code segments} pages. */
    static long ringRequests(int sectors, int segments) {
        long perRequest = (long) segments * Blkif.SECTORS_PER_PAGE;
        return (sectors + perRequest - 1) / perRequest;
    }

    /**
     * Reads and writes of every size, one at a time (each takes the expected number of ring requests: split
     * beyond the segments per request), then all at once over every queue; the guest and the file agree.
     */
    private void checkData(BlockFront d, Path img, Subset s) throws Exception {
        byte[] file = Files.readAllBytes(img);
        Random rnd = new Random(s.name().hashCode());
        long at = 3; // unaligned: requests need not start on a page
        for (int n : SIZES) {
            long before = d.requestsSubmitted();
            assertThat(d.read(at, n).get(WAIT, TimeUnit.SECONDS)).as("read %d sectors", n).isEqualTo(slice(file, at, n));
            assertThat(d.requestsSubmitted() - before).as("ring requests of a %d-sector read", n)
                    .isEqualTo(ringRequests(n, s.segments()));
            byte[] data = new byte[n * 512];
            rnd.nextBytes(data);
            before = d.requestsSubmitted();
            d.write(at, data).get(WAIT, TimeUnit.SECONDS);
            assertThat(d.requestsSubmitted() - before).as("ring requests of a %d-sector write", n)
                    .isEqualTo(ringRequests(n, s.segments()));
            System.arraycopy(data, 0, file, (int) at * 512, data.length);
            assertThat(d.read(at, n).get(WAIT, TimeUnit.SECONDS)).as("%d sectors read back", n).isEqualTo(data);
            at += n + 5;
        }
        assertThat(Files.readAllBytes(img)).isEqualTo(file);

        List<CompletableFuture<Void>> writes = new ArrayList<>();
        List<long[]> regions = new ArrayList<>();
        at = 8 * MIB / 512 + 1;
        for (int i = 0; i < 24; i++) {
            int n = SIZES[i % SIZES.length];
            byte[] data = new byte[n * 512];
            rnd.nextBytes(data);
            System.arraycopy(data, 0, file, (int) at * 512, data.length);
            writes.add(d.write(at, data));
            regions.add(new long[] {at, n});
            at += n + 3;
        }
        CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get(WAIT, TimeUnit.SECONDS);
        assertThat(Files.readAllBytes(img)).isEqualTo(file);
        List<CompletableFuture<byte[]>> reads = new ArrayList<>();
        for (long[] r : regions) reads.add(d.read(r[0], (int) r[1]));
        for (int i = 0; i < regions.size(); i++) {
            long[] r = regions.get(i);
            assertThat(reads.get(i).get(WAIT, TimeUnit.SECONDS)).as("concurrent read %d", i).isEqualTo(slice(file, r[0], (int) r[1]));
        }
    }

    /**
     * Offered, flush and discard each take one ring request and work (a discarded MiB reads as zeros, in the
     * guest and in the file). Not offered, blkfront sends nothing (RequestQueue.kick): a flush completes, as Linux's
     * block layer completes one for a device without a write cache; a discard fails with EOPNOTSUPP and leaves the
     * data in place.
     */
    private void checkFlushAndDiscard(BlockFront d, Path img, Subset s) throws Exception {
        long before = d.requestsSubmitted();
        if (s.flush()) {
            d.flush().get(WAIT, TimeUnit.SECONDS);
            assertThat(d.requestsSubmitted() - before).isEqualTo(1);
        } else {
            // Linux: no write cache, nothing to flush; the flush completes without a request.
            assertThat(d.flush().get(WAIT, TimeUnit.SECONDS)).isNull();
            assertThat(d.requestsSubmitted()).isEqualTo(before);
        }

        long sector = 14 * MIB / 512;
        byte[] data = new byte[MIB];
        new Random(5).nextBytes(data);
        d.write(sector, data).get(WAIT, TimeUnit.SECONDS);
        byte[] expect = data;
        before = d.requestsSubmitted();
        if (s.discard()) {
            d.discard(sector, MIB / 512).get(WAIT, TimeUnit.SECONDS);
            assertThat(d.requestsSubmitted() - before).isEqualTo(1);
            expect = new byte[MIB];
        } else {
            assertStatus(d.discard(sector, MIB / 512), Blkif.RSP_EOPNOTSUPP);
            assertThat(d.requestsSubmitted()).isEqualTo(before);
        }
        assertThat(d.read(sector, MIB / 512).get(WAIT, TimeUnit.SECONDS)).isEqualTo(expect);
        assertThat(slice(Files.readAllBytes(img), sector, MIB / 512)).isEqualTo(expect);
        assertThat(Files.size(img)).isEqualTo(16L * MIB);
    }

    /**
     * blkfront asks for the queues blkback advertises; when that is more than blkback's maximum (here the
     * advertisement was raised behind blkback's back, as a buggy or malicious guest would ask anyway), blkback
     * fails the device as connect_ring does: error node, Closing, never Connected.
     */
    @Test
    void theBackendRefusesMoreQueuesThanItsMaximum() throws Exception {
        refusedThenReattached(new BlkBack.Params(256, 3, 2), "multi-queue-max-queues", "multi-queue-num-queues", "4",
                domid -> "22 guest requested 4 queues, exceeding the maximum of 2.", d -> {
                    assertThat(d.queues()).isEqualTo(2);
                    assertThat(d.queueDepth()).isEqualTo(2 * 128);
                });
    }

    @Test
    void theBackendRefusesARingPageOrderAboveItsMaximum() throws Exception {
        refusedThenReattached(new BlkBack.Params(256, 1, 4), "max-ring-page-order", "ring-page-order", "2",
                domid -> "22 " + fe(domid, DEVID) + "/ring-page-order 2 exceeds the maximum 1", d -> {
                    assertThat(d.queues()).isEqualTo(4);
                    assertThat(d.queueDepth()).isEqualTo(4 * 64);
                });
    }

    /**
     * A connection that worked is made again when the toolstack closes the backend but keeps it online. If blkback
     * refuses the new rings (here the offer the frontend reads now asks for more queues than blkback allows),
     * blkfront stays Closed, and a request then fails at once instead of waiting for rings that will not come.
     */
    @Test
    void requestsFailAtOnceAfterARefusedReconnect() throws Exception {
        reloadBlkback(new BlkBack.Params(256, 3, 2));
        Path img = BlkWireHarness.image(dir, "disk.img", 4 * MIB, 23);
        Host.Guest g = h.guest("g1", false, TestGuestKernel.class.getName());
        h.attach(g.domid(), "vdev=xvda, target=" + img);
        h.kernel(g.domid()).load(new BlkFront());
        BlockFront d = h.disk(g.domid(), "xvda");
        assertThat(d.queues()).isEqualTo(2);
        byte[] data = new byte[4096];
        new Random(23).nextBytes(data);
        d.write(8, data).get(WAIT, TimeUnit.SECONDS);

        String be = be(g.domid(), DEVID);
        h.xs.write(be + "/multi-queue-max-queues", "4");
        h.xs.write(be + "/state", "5");
        String err = "/local/domain/0/error/backend/vbd/" + g.domid() + "/" + DEVID + "/error";
        assertThat(h.awaitValue(err, "22 guest requested 4 queues, exceeding the maximum of 2."::equals, WAIT))
                .as("error node %s", h.readOrNull(err)).isTrue();
        assertThat(h.awaitValue(fe(g.domid(), DEVID) + "/state", "6"::equals, WAIT)).as("frontend Closed").isTrue();
        assertThatThrownBy(() -> d.write(16, data).get(WAIT, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(BlockIOException.class).hasMessageContaining("device closed by the backend");
        assertThat(slice(Files.readAllBytes(img), 8, 8)).isEqualTo(data);
        assertThat(slice(Files.readAllBytes(img), 16, 8)).isNotEqualTo(data);
    }

    interface ErrorText {
        String of(int domid);
    }

    interface Connected {
        void check(BlockFront d) throws Exception;
    }

    /**
     * blkback with {@code params}; the disk is attached before the guest loads blkfront, so the test can raise the
     * offer {@code offerKey} to {@code asked} before blkfront reads it (talk_to_blkback, on the backend's
     * InitWait). blkfront writes {@code askKey = asked}; blkback must refuse with {@code error}, and both ends
     * must then stay Closed: one refusal, not a retry loop (blkfront only reconnects a connection that worked).
     * Detached and attached again, blkback offers its real maximum and the pair connects and moves data.
     */
    private void refusedThenReattached(BlkBack.Params params, String offerKey, String askKey, String asked,
            ErrorText error, Connected ok) throws Exception {
        reloadBlkback(params);
        Path img = BlkWireHarness.image(dir, "disk.img", 4 * MIB, 22);
        Host.Guest g = h.guest("g1", false, TestGuestKernel.class.getName());
        h.attach(g.domid(), "vdev=xvda, target=" + img);
        String be = be(g.domid(), DEVID);
        String fe = fe(g.domid(), DEVID);
        assertThat(h.readOrNull(be + "/" + offerKey)).isNotNull().isNotEqualTo(asked);
        h.xs.write(be + "/" + offerKey, asked);
        Kernel guest = h.kernel(g.domid());
        BlkFront blkfront = new BlkFront();
        guest.load(blkfront);
        CompletableFuture<BlockFront> refused = h.probed(g.domid(), blkfront, DEVID).whenConnected();

        String err = "/local/domain/0/error/backend/vbd/" + g.domid() + "/" + DEVID + "/error";
        String text = error.of(g.domid());
        assertThat(h.awaitValue(err, text::equals, WAIT)).as("error node %s", h.readOrNull(err)).isTrue();
        assertThat(h.readOrNull(fe + "/" + askKey)).isEqualTo(asked);
        assertThat(h.awaitValue(fe + "/state", "6"::equals, WAIT)).as("frontend Closed").isTrue();
        assertThat(h.awaitValue(be + "/state", "6"::equals, WAIT)).as("backend Closed").isTrue();
        assertThat(connectedLines()).isEmpty();
        assertThat(refused.isDone()).isFalse();

        h.detach(g.domid(), "xvda");
        // The refused device goes with the detach; it never connected, and was refused exactly once.
        assertThatThrownBy(() -> refused.get(WAIT, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(BlockIOException.class);
        assertThat(h.host.dom0Kernel().log().lines()).filteredOn(l -> l.endsWith(text)).hasSize(1);

        h.attach(g.domid(), "vdev=xvda, target=" + img);
        BlockFront d = h.disk(g.domid(), "xvda");
        ok.check(d);
        assertThat(connectedLines()).hasSize(1);
        byte[] data = new byte[MIB];
        new Random(22).nextBytes(data);
        d.write(100, data).get(WAIT, TimeUnit.SECONDS);
        assertThat(d.read(100, MIB / 512).get(WAIT, TimeUnit.SECONDS)).isEqualTo(data);
        assertThat(slice(Files.readAllBytes(img), 100, MIB / 512)).isEqualTo(data);
        assertThat(h.host.dom0Kernel().log().lines()).filteredOn(l -> l.endsWith(text)).hasSize(1);
    }

    private List<String> connectedLines() {
        return h.host.dom0Kernel().log().lines().stream()
                .filter(l -> l.startsWith("blkback ") && l.contains(": connected ")).toList();
    }

    private void reloadBlkback(BlkBack.Params params) throws Exception {
        h.reloadBlkback(new BlkBack(params));
    }

    static byte[] slice(byte[] b, long sector, int sectors) {
        return Arrays.copyOfRange(b, (int) sector * 512, (int) (sector + sectors) * 512);
    }

    static void assertStatus(CompletableFuture<?> f, short status) {
        assertThatThrownBy(() -> f.get(WAIT, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(BlockIOException.class)
                .satisfies(e -> assertThat(((BlockIOException) e).status()).isEqualTo(status));
    }
}
