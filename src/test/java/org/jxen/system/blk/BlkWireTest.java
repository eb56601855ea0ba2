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
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.Vdev;
import org.jxen.drivers.blk.back.BlkBack;
import org.jxen.drivers.blk.front.BlockFront;
import org.jxen.drivers.blk.front.BlockIOException;
import org.jxen.kernel.Disk;
import org.jxen.kernel.Kernel;
import org.jxen.system.TestGuestKernel;
import org.jxen.toolstack.Host;

/** blkfront and blkback end to end on a real host: the data in the guest and in the image file agree. */
@Timeout(240)
class BlkWireTest extends BlkWireFixture {
    static final int MIB = 1 << 20;

    /** Set by {@link #attachXvda}: the image, its guest and the guest's connected xvda. */
    Path img;
    Host.Guest g;
    BlockFront d;

    /** A guest g1 with a random image of {@code bytes} (from {@code seed}) attached as xvda, connected. */
    void attachXvda(int bytes, long seed) throws Exception {
        img = BlkWireHarness.image(dir, "disk.img", bytes, seed);
        g = h.guest("g1");
        h.attach(g.domid(), "vdev=xvda, target=" + img);
        d = h.disk(g.domid(), "xvda");
    }

    static byte[] slice(byte[] b, long off, int len) {
        return Arrays.copyOfRange(b, (int) off, (int) off + len);
    }

    @Test
    void guestWritesAndReadsMatchTheImageFileAcrossSizesAndQueues() throws Exception {
        Path img = BlkWireHarness.image(dir, "disk.img", 16 * MIB, 1);
        Host.Guest g = h.guest("g1");
        h.attach(g.domid(), "format=raw, vdev=xvda, access=rw, target=" + img);
        BlockFront d = h.disk(g.domid(), "xvda");

        assertThat(d.sectors()).isEqualTo(16L * MIB / 512);
        assertThat(d.sectorSize()).isEqualTo(512);
        assertThat(d.readOnly()).isFalse();
        assertThat(d.queues()).isEqualTo(4);
        assertThat(d.segmentsPerRequest()).isEqualTo(256);
        String fe = fe(g.domid(), 51712);
        assertThat(h.readOrNull(fe + "/multi-queue-num-queues")).isEqualTo("4");
        assertThat(h.readOrNull(fe + "/ring-page-order")).isEqualTo("2");
        assertThat(h.readOrNull(fe + "/queue-3/ring-ref3")).isNotNull();
        assertThat(h.readOrNull(fe + "/protocol")).isEqualTo("x86_64-abi");
        String be = be(g.domid(), 51712);
        assertThat(h.readOrNull(be + "/info")).isEqualTo("0");
        assertThat(h.readOrNull(be + "/sectors")).isEqualTo(Long.toString(16L * MIB / 512));
        assertThat(h.readOrNull(be + "/params")).isEqualTo(img.toString());
        assertThat(h.readOrNull(be + "/mode")).isEqualTo("w");
        assertThat(h.readOrNull(be + "/type")).isEqualTo("file");
        assertThat(h.readOrNull(be + "/dev")).isEqualTo("xvda");

        // The guest reads what the file holds.
        byte[] file = Files.readAllBytes(img);
        assertThat(d.read(0, 2048).get(WAIT, TimeUnit.SECONDS)).isEqualTo(slice(file, 0, 2048 * 512));

        // One sector up to the largest indirect request (256 segments = 2048 sectors), and beyond (split).
        int[] sizes = {1, 7, 8, 9, 88, 89, 96, 512, 2047, 2048, 2049, 5000};
        Random rnd = new Random(7);
        long sector = 0;
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        List<long[]> regions = new ArrayList<>();
        List<byte[]> datas = new ArrayList<>();
        for (int n : sizes) {
            byte[] data = new byte[n * 512];
            rnd.nextBytes(data);
            writes.add(d.write(sector, data));
            regions.add(new long[] {sector, n});
            datas.add(data);
            sector += n + 3;
        }
        CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get(WAIT, TimeUnit.SECONDS);
        file = Files.readAllBytes(img);
        for (int i = 0; i < sizes.length; i++) {
            long[] r = regions.get(i);
            assertThat(slice(file, r[0] * 512, (int) r[1] * 512)).as("file at %d, %d sectors", r[0], r[1]).isEqualTo(datas.get(i));
            assertThat(d.read(r[0], (int) r[1]).get(WAIT, TimeUnit.SECONDS)).as("read back %d sectors", r[1]).isEqualTo(datas.get(i));
        }

        // Many small requests in flight at once over all queues.
        byte[] expect = Files.readAllBytes(img);
        List<CompletableFuture<Void>> many = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            byte[] data = new byte[8 * 512];
            rnd.nextBytes(data);
            long s = 20_000 + (long) i * 8; // disjoint, so completion order does not matter
            System.arraycopy(data, 0, expect, (int) (s * 512), data.length);
            many.add(d.write(s, data));
        }
        CompletableFuture.allOf(many.toArray(CompletableFuture[]::new)).get(WAIT, TimeUnit.SECONDS);
        assertThat(Files.readAllBytes(img)).isEqualTo(expect);
        List<CompletableFuture<byte[]>> reads = new ArrayList<>();
        for (int i = 0; i < 400; i++) reads.add(d.read(20_000 + (long) i * 8, 8));
        for (int i = 0; i < 400; i++) {
            assertThat(reads.get(i).get(WAIT, TimeUnit.SECONDS)).isEqualTo(slice(expect, (20_000 + (long) i * 8) * 512, 4096));
        }

        // The other way: the host changes the file, the guest reads it.
        byte[] hostData = new byte[3 * MIB];
        rnd.nextBytes(hostData);
        try (var ch = java.nio.channels.FileChannel.open(img, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(hostData), 5L * MIB);
        }
        assertThat(d.read(5L * MIB / 512, hostData.length / 512).get(WAIT, TimeUnit.SECONDS)).isEqualTo(hostData);

        // Flush, then discard punches a hole (reads give zeros, the file keeps its size).
        d.flush().get(WAIT, TimeUnit.SECONDS);
        assertThat(d.discardSupported()).isTrue();
        long blocksBefore = blocks(img);
        d.discard(8L * MIB / 512, 4L * MIB / 512).get(WAIT, TimeUnit.SECONDS);
        assertThat(d.read(8L * MIB / 512, 2048).get(WAIT, TimeUnit.SECONDS)).isEqualTo(new byte[MIB]);
        assertThat(Files.size(img)).isEqualTo(16L * MIB);
        assertThat(blocks(img)).isLessThan(blocksBefore);

        // Outside the disk: errors, nothing else breaks.
        long end = d.sectors();
        assertStatus(d.read(end, 1), Blkif.RSP_ERROR);
        assertStatus(d.read(end - 1, 2), Blkif.RSP_ERROR);
        assertStatus(d.write(end, new byte[512]), Blkif.RSP_ERROR);
        assertStatus(d.discard(end - 8, 16), Blkif.RSP_ERROR);
        assertThat(d.read(end - 1, 1).get(WAIT, TimeUnit.SECONDS)).isEqualTo(slice(Files.readAllBytes(img), (end - 1) * 512, 512));

        // Detach: the backend closes the image, both ends release everything.
        h.detach(g.domid(), "xvda");
        Kernel guest = h.kernel(g.domid());
        BlkWireHarness.awaitTrue("dom0 releasing the vbd", () -> h.host.dom0Kernel().xenbusResources().snapshot().isEmpty());
        BlkWireHarness.awaitTrue("guest releasing the vbd", () -> guest.xenbusResources().snapshot().isEmpty());
        BlkWireHarness.awaitTrue("the image closed", () -> !BlkWireHarness.openInThisJvm(img));
        assertStatus(d.read(0, 1), (short) 0);
    }

    static long blocks(Path p) throws Exception {
        Process pr = new ProcessBuilder("stat", "-c", "%b", p.toString()).start();
        String out = new String(pr.getInputStream().readAllBytes()).strip();
        pr.waitFor();
        return Long.parseLong(out);
    }

    static void assertStatus(CompletableFuture<?> f, short status) {
        assertThatThrownBy(() -> f.get(WAIT, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(BlockIOException.class)
                .satisfies(e -> assertThat(((BlockIOException) e).status()).isEqualTo(status));
    }

    /** Collects a shared read's runs into one array, checking that no byte comes twice. */
    static final class Collect implements Disk.SectorReader {
        final byte[] got;
        final java.util.BitSet seen = new java.util.BitSet();
        long next;

        Collect(int bytes) {
            got = new byte[bytes];
        }

        @Override
        public void accept(long offset, java.lang.foreign.MemorySegment data) {
            assertThat(data.isReadOnly()).isTrue();
            int from = (int) offset, to = (int) (offset + data.byteSize());
            assertThat(seen.get(from, to).isEmpty()).as("bytes %d..%d handed over twice", from, to).isTrue();
            seen.set(from, to);
            java.lang.foreign.MemorySegment.copy(data, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, got, from,
                    to - from);
            next += data.byteSize();
        }
    }

    @Test
    void sharedReadsHandOverTheImagesBytesAndGiveThePagesBack() throws Exception {
        attachXvda(16 * MIB, 6);
        byte[] file = Files.readAllBytes(img);
        Random rnd = new Random(6);
        // One sector, a page and a bit, the largest indirect request, one beyond it (split in two), 5000 sectors.
        int[] sizes = {1, 7, 8, 9, 88, 2048, 2049, 5000};
        for (int round = 0; round < 3; round++) {
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            List<Collect> cs = new ArrayList<>();
            List<Long> at = new ArrayList<>();
            for (int n : sizes) {
                long s = rnd.nextLong(16L * MIB / 512 - n);
                Collect c = new Collect(n * 512);
                cs.add(c);
                at.add(s);
                fs.add(d.readShared(s, n, c));
            }
            CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).get(WAIT, TimeUnit.SECONDS);
            for (int i = 0; i < sizes.length; i++) {
                assertThat(cs.get(i).next).isEqualTo(sizes[i] * 512L);
                assertThat(cs.get(i).got).as("%d sectors at %d", sizes[i], at.get(i))
                        .isEqualTo(slice(file, at.get(i) * 512, sizes[i] * 512));
            }
        }
        // A reader that throws fails its read with what it threw; its pages still go back to the pool.
        IllegalStateException boom = new IllegalStateException("reader failed");
        assertThatThrownBy(() -> d.readShared(0, 2048, (o, data) -> { throw boom; }).get(WAIT, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).cause().isSameAs(boom);
        // 40 MiB through a 1056-page pool: every page lent out came back, or this would stall.
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int i = 0; i < 40; i++) all.add(d.readShared((i % 16) * 2048L, 2048, (o, data) -> { }));
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(WAIT, TimeUnit.SECONDS);
        assertThatThrownBy(() -> d.readShared(0, 0, (o, data) -> { }).get(WAIT, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * EndIo (bio end_io): each read's callback runs on the guest's event thread and submits the next read from
     * there, four chains at once, 1 sector to 2 MiB; the bytes are the image's. Writes end the same way and
     * reach the file. Failures come through the callback: an out-of-range read with the backend's RSP_ERROR, a
     * bad length with IllegalArgumentException on the caller's own thread. A callback that throws is logged
     * and the device keeps working.
     */
    @Test
    void endIoCallbacksRunOnTheEventThreadChainRequestsAndCarryFailures() throws Exception {
        attachXvda(8 * MIB, 12);
        byte[] file = Files.readAllBytes(img);
        Random rnd = new Random(12);
        int chains = 4, perChain = 40;
        int[] sizes = new int[chains * perChain];
        long[] at = new long[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = i % 10 == 0 ? 4096 : 1 + rnd.nextInt(600);
            at[i] = rnd.nextInt(8 * MIB / 512 - sizes[i]);
        }
        byte[][] got = new byte[sizes.length][];
        List<String> threads = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(chains);
        for (int c = 0; c < chains; c++) {
            int chain = c;
            Disk.EndIo[] next = new Disk.EndIo[1];
            int[] k = {0};
            next[0] = e -> {
                threads.add(Thread.currentThread().getName());
                if (e != null) failures.add(e);
                if (++k[0] == perChain) {
                    finished.countDown();
                    return;
                }
                int i = chain * perChain + k[0];
                got[i] = new byte[sizes[i] * 512];
                d.read(at[i], got[i], 0, got[i].length, next[0]);
            };
            int i = chain * perChain;
            got[i] = new byte[sizes[i] * 512];
            d.read(at[i], got[i], 0, got[i].length, e -> {
                threads.add(Thread.currentThread().getName());
                if (e != null) failures.add(e);
                int j = chain * perChain + (k[0] = 1);
                got[j] = new byte[sizes[j] * 512];
                d.read(at[j], got[j], 0, got[j].length, next[0]);
            });
        }
        assertThat(finished.await(WAIT, TimeUnit.SECONDS)).isTrue();
        assertThat(failures).isEmpty();
        for (int i = 0; i < sizes.length; i++) {
            assertThat(got[i]).as("read %d: %d sectors at %d", i, sizes[i], at[i]).isEqualTo(slice(file, at[i] * 512, sizes[i] * 512));
        }
        assertThat(threads).hasSize(sizes.length).containsOnly("dom" + g.domid() + "-events");

        byte[] data = new byte[300 * 512];
        rnd.nextBytes(data);
        CompletableFuture<Throwable> wrote = new CompletableFuture<>();
        d.write(1000, data, 0, data.length, wrote::complete);
        assertThat(wrote.get(WAIT, TimeUnit.SECONDS)).isNull();
        assertThat(slice(Files.readAllBytes(img), 1000 * 512, data.length)).isEqualTo(data);

        CompletableFuture<Throwable> outside = new CompletableFuture<>();
        d.read(8 * MIB / 512 - 1, new byte[1024], 0, 1024, outside::complete);
        assertThat(outside.get(WAIT, TimeUnit.SECONDS)).isInstanceOf(BlockIOException.class)
                .extracting(t -> ((BlockIOException) t).status()).isEqualTo(Blkif.RSP_ERROR);
        String[] badOn = new String[1];
        CompletableFuture<Throwable> bad = new CompletableFuture<>();
        d.read(0, new byte[1000], 0, 1000, e -> {
            badOn[0] = Thread.currentThread().getName();
            bad.complete(e);
        });
        assertThat(bad.get(WAIT, TimeUnit.SECONDS)).isInstanceOf(IllegalArgumentException.class);
        assertThat(badOn[0]).isEqualTo(Thread.currentThread().getName());

        CompletableFuture<Void> threw = new CompletableFuture<>();
        d.read(0, new byte[512], 0, 512, e -> {
            threw.complete(null);
            throw new IllegalStateException("callback bug");
        });
        threw.get(WAIT, TimeUnit.SECONDS);
        assertThat(d.read(5, 3).get(WAIT, TimeUnit.SECONDS)).isEqualTo(slice(file, 5 * 512, 3 * 512));
    }

    /**
     * A detach fails the requests still queued, and their EndIo callbacks run inside that failing, on the
     * detaching thread. Each failed write is submitted again from its callback (once). Every callback, first
     * submissions and resubmissions alike, still runs exactly once, with the data written or a
     * BlockIOException.
     */
    @Test
    void endIoCallbacksThatResubmitWhileADetachFailsTheQueueAllRunOnce() throws Exception {
        attachXvda(8 * MIB, 5);
        int n = 2000;
        java.util.concurrent.atomic.AtomicIntegerArray calls = new java.util.concurrent.atomic.AtomicIntegerArray(2 * n);
        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger resubmitted = new java.util.concurrent.atomic.AtomicInteger();
        List<Throwable> odd = java.util.Collections.synchronizedList(new ArrayList<>());
        // 256 KiB writes, 500 MiB in all: far more than a detach's handshake takes to reach the frontend, however
        // fast the backend (with 32 KiB writes all 2000 were sometimes done before the detach, and none failed).
        byte[] data = new byte[512 * 512];
        for (int i = 0; i < n; i++) {
            int slot = i;
            long sector = (long) (i % 16) * 512;
            d.write(sector, data, 0, data.length, e -> {
                calls.incrementAndGet(slot);
                if (e == null) return;
                if (!(e instanceof BlockIOException)) odd.add(e);
                failed.incrementAndGet();
                resubmitted.incrementAndGet();
                d.write(sector, data, 0, data.length, e2 -> {
                    calls.incrementAndGet(n + slot);
                    if (e2 != null && !(e2 instanceof BlockIOException)) odd.add(e2);
                });
            });
        }
        h.detach(g.domid(), "xvda");
        BlkWireHarness.awaitTrue("every first callback", () -> {
            for (int i = 0; i < n; i++) if (calls.get(i) == 0) return false;
            return true;
        });
        assertThat(failed.get()).as("requests still queued at the detach").isPositive();
        BlkWireHarness.awaitTrue("every resubmission's callback", () -> {
            int seen = 0;
            for (int i = n; i < 2 * n; i++) seen += calls.get(i);
            return seen == resubmitted.get();
        });
        for (int i = 0; i < 2 * n; i++) assertThat(calls.get(i)).as("callback %d", i).isLessThanOrEqualTo(1);
        assertThat(odd).isEmpty();
    }

    @Test
    void detachWhileAReaderHoldsSharedPagesFreesThemWhenItReturns() throws Exception {
        attachXvda(8 * MIB, 7);
        byte[] file = Files.readAllBytes(img);
        java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        byte[] seen = new byte[2048 * 512];
        CompletableFuture<Void> f = d.readShared(0, 2048, (o, data) -> {
            inside.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            // The pages must still hold the data: the detach did not free them under us.
            java.lang.foreign.MemorySegment.copy(data, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, seen, (int) o,
                    (int) data.byteSize());
        });
        assertThat(inside.await(WAIT, TimeUnit.SECONDS)).isTrue();
        Kernel guest = h.kernel(g.domid());
        CompletableFuture<Void> detached = CompletableFuture.runAsync(() -> {
            try {
                h.detach(g.domid(), "xvda");
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, task -> Thread.ofPlatform().daemon().start(task));
        // The connection is torn down (its rings and the rest of the pool released) while the reader still reads.
        BlkWireHarness.awaitTrue("blkfront disconnected", () -> !d.isConnected());
        release.countDown();
        detached.get(WAIT, TimeUnit.SECONDS);
        BlkWireHarness.awaitTrue("dom0 releasing the vbd", () -> h.host.dom0Kernel().xenbusResources().snapshot().isEmpty());
        f.get(WAIT, TimeUnit.SECONDS);
        assertThat(seen).isEqualTo(slice(file, 0, seen.length));
        BlkWireHarness.awaitTrue("guest ending the lent pages' grants", () -> guest.xenbusResources().snapshot().isEmpty());
    }

    @Test
    void readOnlyDiskRefusesWritesAndSaysSo() throws Exception {
        Path img = BlkWireHarness.image(dir, "ro.img", 2 * MIB, 2);
        byte[] before = Files.readAllBytes(img);
        Host.Guest g = h.guest("g1");
        h.attach(g.domid(), img + ",raw,xvdb,r");
        BlockFront d = h.disk(g.domid(), "xvdb");
        assertThat(d.readOnly()).isTrue();
        assertThat(h.readOrNull(be(g.domid(), Vdev.devid("xvdb")) + "/info")).isEqualTo("4");
        assertThat(h.readOrNull(be(g.domid(), Vdev.devid("xvdb")) + "/mode")).isEqualTo("r");
        assertThat(d.read(100, 64).get(WAIT, TimeUnit.SECONDS)).isEqualTo(slice(before, 100 * 512, 64 * 512));
        assertStatus(d.write(0, new byte[4096]), Blkif.RSP_ERROR);
        assertStatus(d.write(0, new byte[512 * 200]), Blkif.RSP_ERROR); // indirect
        // blkback offers flush but refuses it on a read-only disk (a flush is a write): as Linux blkfront, the
        // frontend takes the failed empty flush as "not supported", completes it and sends no more flushes.
        assertThat(d.flushSupported()).isTrue();
        long sent = d.requestsSubmitted();
        assertThat(d.flush().get(WAIT, TimeUnit.SECONDS)).isNull();
        assertThat(d.flushSupported()).isFalse();
        assertThat(d.flush().get(WAIT, TimeUnit.SECONDS)).isNull();
        assertThat(d.requestsSubmitted() - sent).isEqualTo(1);
        assertThat(Files.readAllBytes(img)).isEqualTo(before);
    }

    /**
     * Requests on the rings when the backend goes away are requeued, not lost. To have some there for sure, the
     * backend's storage is stalled first: blkback opens the image through a {@link GatedStorage} whose gate the
     * test closes, so its queue workers hang in the first disk write and the 200 writes blkfront then puts on the
     * rings are not served (they fit: 4 queues of 128 slots, 400 of the 1056 pool pages). The toolstack closes
     * the backend but keeps it online; blkfront gives the writes its grace period, finds them still in flight and
     * requeues them; then the gate opens (the old connection may or may not still write them: the same bytes),
     * and after the reconnect the writes go out on the new rings.
     */
    @Test
    void backendReconnectRequeuesRequestsInFlightAndNoneIsLost() throws Exception {
        GatedStorage storage = new GatedStorage();
        h.reloadBlkback(new BlkBack(BlkBack.Params.DEFAULT, storage));
        attachXvda(8 * MIB, 3);
        byte[] expect = Files.readAllBytes(img);
        byte[] stalled = null;
        Random rnd = new Random(103); // not the image's seed 3, whose stream would rewrite the bytes already there
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        try {
            for (int i = 0; i < 300; i++) {
                if (i == 100) {
                    CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).get(WAIT, TimeUnit.SECONDS);
                    stalled = expect.clone();
                    storage.close();
                }
                byte[] data = new byte[16 * 512];
                rnd.nextBytes(data);
                long s = (long) i * 16;
                System.arraycopy(data, 0, expect, (int) (s * 512), data.length);
                fs.add(d.write(s, data));
            }
            assertThat(d.requestsSubmitted()).as("every write on a ring").isEqualTo(300);
            assertThat(fs.subList(100, 300)).as("stalled writes answered").noneMatch(CompletableFuture::isDone);
            assertThat(Files.readAllBytes(img)).as("the image while the backend is stalled").isEqualTo(stalled);
            assertThat(d.requeuedRequests()).isZero();

            // The toolstack closes the backend but keeps it online: the pair reconnects.
            h.xs.write(be(g.domid(), 51712) + "/state", "5");
            // blkfront is Closed once it has requeued; it stays so while the stalled backend cannot close.
            assertThat(h.awaitValue(fe(g.domid(), 51712) + "/state", "6"::equals, WAIT)).isTrue();
            assertThat(d.requeuedRequests()).as("writes requeued across the reconnect").isEqualTo(200);
            assertThat(fs.subList(100, 300)).as("requeued writes answered").noneMatch(CompletableFuture::isDone);
        } finally {
            storage.open(); // also when an assertion failed: the backend must be able to close
        }
        CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).get(WAIT, TimeUnit.SECONDS);
        assertThat(d.requestsSubmitted()).as("the requeued writes sent again").isEqualTo(500);
        assertThat(h.awaitValue(be(g.domid(), 51712) + "/state", "4"::equals, WAIT)).isTrue();
        assertThat(Files.readAllBytes(img)).isEqualTo(expect);
        assertThat(d.read(0, 300 * 16).get(WAIT, TimeUnit.SECONDS)).isEqualTo(slice(expect, 0, 300 * 16 * 512));
    }

    @Test
    void detachWhileIoIsInFlightCompletesOrFailsEveryRequestAndReattachKeepsTheData() throws Exception {
        attachXvda(8 * MIB, 4);
        byte[] orig = Files.readAllBytes(img);
        // Not the image's seed (4): with it every write would put back the bytes already there.
        Random rnd = new Random(104);
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        List<byte[]> datas = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            byte[] data = new byte[64 * 512];
            rnd.nextBytes(data);
            assertThat(data).isNotEqualTo(slice(orig, (long) i * 64 * 512, 64 * 512));
            datas.add(data);
            fs.add(d.write((long) i * 64, data));
        }
        h.detach(g.domid(), "xvda");
        for (CompletableFuture<Void> f : fs) {
            try {
                f.get(WAIT, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(BlockIOException.class);
            }
        }
        BlkWireHarness.awaitTrue("the image closed", () -> !BlkWireHarness.openInThisJvm(img));
        h.attach(g.domid(), "vdev=xvda, target=" + img);
        BlockFront d2 = h.disk(g.domid(), "xvda");
        assertThat(d2).isNotSameAs(d);
        byte[] now = d2.read(0, 200 * 64).get(WAIT, TimeUnit.SECONDS);
        byte[] file = Files.readAllBytes(img);
        for (int i = 0; i < 200; i++) {
            byte[] got = slice(now, (long) i * 64 * 512, 64 * 512);
            assertThat(got).isEqualTo(slice(file, (long) i * 64 * 512, 64 * 512));
            if (!fs.get(i).isCompletedExceptionally()) {
                assertThat(got).as("completed write %d", i).isEqualTo(datas.get(i));
            } else {
                // A failed write may or may not have reached the disk, but nothing else is there.
                byte[] mine = datas.get(i);
                byte[] old = slice(orig, (long) i * 64 * 512, 64 * 512);
                assertThat(Arrays.equals(got, mine) || Arrays.equals(got, old)).as("failed write %d", i).isTrue();
            }
        }
    }

    /**
     * The guest's frontend is {@link HostileBlkfront}, which connects both disks as blkfront would and then
     * breaks xvda's first ring (its request producer jumps far ahead): blkback closes xvda alone, and xvdb, on
     * the same backend and in the same guest, keeps serving.
     */
    @Test
    void aFrontendBreakingItsRingClosesOnlyItsOwnDevice() throws Exception {
        Path a = BlkWireHarness.image(dir, "a.img", MIB, 5);
        Path b = BlkWireHarness.image(dir, "b.img", MIB, 6);
        Host.Guest g = h.guest("g1", false, TestGuestKernel.class.getName());
        HostileBlkfront frontend = new HostileBlkfront();
        h.kernel(g.domid()).load(frontend);
        h.attach(g.domid(), "vdev=xvda, target=" + a);
        h.attach(g.domid(), "vdev=xvdb, target=" + b);
        HostileBlkfront.Queue da = frontend.vbd("xvda").get(WAIT, TimeUnit.SECONDS).queue(0);
        HostileBlkfront.Queue db = frontend.vbd("xvdb").get(WAIT, TimeUnit.SECONDS).queue(0);
        da.read(0, 8);
        da.breakRing();
        String err = "/local/domain/0/error/backend/vbd/" + g.domid() + "/51712/error";
        assertThat(h.awaitValue(err, v -> v.startsWith("71 "), WAIT)).as("error node").isTrue();
        assertThat(h.awaitValue(be(g.domid(), 51712) + "/state", v -> !v.equals("4"), WAIT)).isTrue();
        byte[] data = new byte[8192];
        new Random(9).nextBytes(data);
        db.write(10, data);
        assertThat(db.read(10, 16)).isEqualTo(data);
        assertThat(slice(Files.readAllBytes(b), 10 * 512, 8192)).isEqualTo(data);
    }

    /**
     * The writer guest (its own JVM, {@link BlkWriterKernel}) keeps 32 writes of 64 KiB in flight over 64 slots of
     * the disk and is killed with SIGKILL. What holds then, and is checked on the image's bytes:
     *
     * <p>blkfront copies a write's data into its granted pool pages before it publishes the request on the ring,
     * and reuses those pages only after the response, so a request blkback can see is complete in memory, and
     * one the guest died before publishing is never seen. The dead guest's pages stay valid for dom0 until
     * blkback unmaps them. blkback serves a request with one pwritev and pushes the response only after it, so
     * an acknowledged write is in the image. When the guest dies, requests left on the ring are written whole
     * if the queue's worker reaches them before the disconnect stops it (it finishes the pass it is in), or
     * dropped with the ring; nobody is answered. So each slot holds its initial bytes or exactly one write, all
     * 128 sectors of it, and never one older than the last write to the slot that was acknowledged (here every
     * slot has one, so none may hold its initial bytes). A write that was not acknowledged may be there or not.
     * The guest's {@code blkwriter-acked} read before the kill is a lower bound on what was acknowledged, which
     * is the safe direction for these checks.
     */
    @Test
    void guestProcessKilledMidWriteLeavesOnlyWholeWritesAndNothingInTheBackend() throws Exception {
        Path img = BlkWireHarness.image(dir, "disk.img", 4 * MIB, 8);
        byte[] initial = Files.readAllBytes(img);
        int slots = initial.length / BlkWriterKernel.BLOCK;
        Host.Guest g = h.guest("writer", true, BlkWriterKernel.class.getName());
        h.attach(g.domid(), "vdev=xvda, target=" + img);
        String ackedNode = "/local/domain/" + g.domid() + "/data/blkwriter-acked";
        // Four rounds over the slots: every slot has been rewritten and has an acknowledged write.
        assertThat(h.awaitValue(ackedNode, v -> Long.parseLong(v) >= 4L * slots, WAIT)).isTrue();
        assertThat(BlkWireHarness.openInThisJvm(img)).isTrue();
        long acked = Long.parseLong(h.readOrNull(ackedNode));

        g.process().destroyForcibly().waitFor();

        BlkWireHarness.awaitTrue("dom0 releasing the vbd",
                () -> h.host.dom0Kernel().xenbusResources().snapshot().isEmpty());
        BlkWireHarness.awaitTrue("the image closed", () -> !BlkWireHarness.openInThisJvm(img));
        BlkWireHarness.awaitTrue("the backend directory removed", () -> {
            try {
                return !h.xs.exists(be(g.domid(), 51712));
            } catch (java.io.IOException e) {
                return false;
            }
        });

        byte[] file = Files.readAllBytes(img);
        java.util.Map<Long, byte[]> blocks = new java.util.HashMap<>();
        for (int j = 0; j < slots; j++) {
            long lastAcked = acked - 1 - Math.floorMod(acked - 1 - j, slots); // the last n < acked with n % slots == j
            long n = BlkWriterKernel.writeOf(file, j * BlkWriterKernel.BLOCK);
            assertThat(slotContent(file, initial, j, slots, blocks)).as("slot %d, last acknowledged write %d", j, lastAcked)
                    .isEqualTo("sectors 0-127: write " + n);
            assertThat(n).as("slot %d: the write in it against the last acknowledged one", j).isGreaterThanOrEqualTo(lastAcked);
        }
    }

    /**
     * Where each sector of slot {@code j} comes from, as runs ("sectors 0-63: write 517, sectors 64-127: initial"):
     * the initial image, a write to this slot (header and bytes exactly {@link BlkWriterKernel#block}'s), or other.
     */
    static String slotContent(byte[] file, byte[] initial, int j, int slots, java.util.Map<Long, byte[]> blocks) {
        int perBlock = BlkWriterKernel.BLOCK / 512;
        List<String> runs = new ArrayList<>();
        String run = null;
        int from = 0;
        for (int k = 0; k <= perBlock; k++) {
            String what = null;
            if (k < perBlock) {
                int off = j * BlkWriterKernel.BLOCK + k * 512;
                long n = BlkWriterKernel.writeOf(file, off);
                if (Arrays.equals(file, off, off + 512, initial, off, off + 512)) {
                    what = "initial";
                } else if (n >= 0 && n % slots == j && Arrays.equals(file, off, off + 512,
                        blocks.computeIfAbsent(n, BlkWriterKernel::block), k * 512, k * 512 + 512)) {
                    what = "write " + n;
                } else {
                    what = n >= 0 ? "bytes claiming write " + n : "other bytes";
                }
            }
            if (!java.util.Objects.equals(what, run)) {
                if (run != null) runs.add("sectors " + from + "-" + (k - 1) + ": " + run);
                run = what;
                from = k;
            }
        }
        return String.join(", ", runs);
    }
}
