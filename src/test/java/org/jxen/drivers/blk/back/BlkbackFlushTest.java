package org.jxen.drivers.blk.back;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.BlkifRequest;
import org.jxen.drivers.blk.BlkifResponse;
import org.jxen.drivers.blk.back.BlkRig.Rsp;
import org.jxen.hypervisor.Errno;
import org.jxen.libc.Libc;

/**
 * "Flush reaches the file": a FLUSH_DISKCACHE (or WRITE_BARRIER) from the frontend fsyncs the image after the
 * writes before it, is answered only once the fsync returned, and a failed fsync is answered ERROR.
 *
 * <p>fsync is what Linux does for a file-backed vbd: blkback turns the flush into a REQ_PREFLUSH bio, and the
 * loop driver under it answers that with vfs_fsync(backing file). Status and file contents alone cannot show
 * it (the page cache serves the new bytes either way), so the first test watches the image's dirty pages with
 * cachestat(2); the failure test uses a descriptor whose fsync really fails (/dev/null: no fsync, EINVAL). What
 * the kernel cannot show unprivileged, the order of calls against the ring and an EIO from fsync, is observed
 * through a {@link BlockDevice} that wraps the real image and records.
 */
@Timeout(120)
class BlkbackFlushTest {
    private static final long MiB = 1 << 20;
    private static final int PAGES = 8; // data pages of each write: 64 sectors

    @TempDir
    Path dir;

    private final Random rnd = new Random(5);

    @Test
    void aFlushLeavesNoDirtyPageOfTheImage() throws Exception {
        Assumptions.assumeTrue(fsyncCleansPagesHere(), "no cachestat(2), or this file system keeps no dirty pages");
        try (BlkRig rig = new BlkRig(dir, MiB, false, 2 * PAGES, 0)) {
            submit(rig, Blkif.OP_WRITE, 1, 0, 0, random(64 * 512));
            assertThat(rig.runOne()).isEqualTo(new Rsp(1, Blkif.OP_WRITE, Blkif.RSP_OKAY));
            // Written, not yet on the disk. The kernel's flusher could clean them first (it should not within
            // 30 s, but under memory pressure it may): then this run shows nothing, and says so.
            long dirty = cachestat(rig.image).dirty();
            assertThat(dirty).isBetween(0L, (long) PAGES);
            Assumptions.assumeTrue(dirty == PAGES, "background writeback cleaned " + (PAGES - dirty) + " pages first");

            // A write and a flush in one batch: the fsync must come after the write's pwritev.
            submit(rig, Blkif.OP_WRITE, 2, 512, 0, random(64 * 512));
            rig.nextRequest().set(Blkif.OP_FLUSH_DISKCACHE, 0, 0, 3, 0);
            assertThat(rig.run()).containsExactly(new Rsp(2, Blkif.OP_WRITE, Blkif.RSP_OKAY),
                    new Rsp(3, Blkif.OP_FLUSH_DISKCACHE, Blkif.RSP_OKAY));
            Cachestat after = cachestat(rig.image);
            assertThat(after.dirty()).isZero();
            assertThat(after.writeback()).isZero(); // fsync waited for the writeback it started

            // A flush carrying data writes it first, then syncs; so does a barrier.
            submit(rig, Blkif.OP_FLUSH_DISKCACHE, 4, 1024, 0, random(64 * 512));
            assertThat(rig.runOne()).isEqualTo(new Rsp(4, Blkif.OP_FLUSH_DISKCACHE, Blkif.RSP_OKAY));
            assertThat(cachestat(rig.image).dirty()).isZero();
            submit(rig, Blkif.OP_WRITE_BARRIER, 5, 1536, PAGES, random(64 * 512));
            assertThat(rig.runOne()).isEqualTo(new Rsp(5, Blkif.OP_WRITE_BARRIER, Blkif.RSP_OKAY));
            assertThat(cachestat(rig.image).dirty()).isZero();
        }
    }

    @Test
    void theFlushIsOneSyncAfterTheWritesAndBeforeItsResponse() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, 2 * PAGES, 0)) {
            List<String> calls = new ArrayList<>();
            byte[] a = random(64 * 512);
            byte[] b = random(64 * 512);
            BlockDevice recorder = new Wrapped(rig.disk) {
                @Override
                public void write(long sector, MemorySegment[] bufs, int count) throws DiskException {
                    super.write(sector, bufs, count);
                    calls.add("write " + sector);
                }

                @Override
                public void flush() throws DiskException {
                    try {
                        // The writes before the flush are in the file when the fsync is issued.
                        assertThat(fileBytes(rig.image, 0, 64)).isEqualTo(a);
                        assertThat(fileBytes(rig.image, 512, 64)).isEqualTo(b);
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                    super.flush();
                    calls.add("flush, " + (rig.front.layout().rspProd() - rig.front.rspCons())
                            + " responses published");
                }
            };
            BlkbackRequestProcessor p = processor(rig, recorder);
            submit(rig, Blkif.OP_WRITE, 1, 0, 0, a);
            submit(rig, Blkif.OP_WRITE, 2, 512, PAGES, b);
            rig.nextRequest().set(Blkif.OP_FLUSH_DISKCACHE, 0, 0, 3, 0);
            assertThat(run(rig, p)).containsExactly(new Rsp(1, Blkif.OP_WRITE, Blkif.RSP_OKAY),
                    new Rsp(2, Blkif.OP_WRITE, Blkif.RSP_OKAY), new Rsp(3, Blkif.OP_FLUSH_DISKCACHE, Blkif.RSP_OKAY));
            assertThat(calls).containsExactly("write 0", "write 512", "flush, 0 responses published");

            calls.clear();
            submit(rig, Blkif.OP_WRITE_BARRIER, 4, 0, 0, a);
            assertThat(run(rig, p)).containsExactly(new Rsp(4, Blkif.OP_WRITE_BARRIER, Blkif.RSP_OKAY));
            assertThat(calls).containsExactly("write 0", "flush, 0 responses published");
        }
    }

    /** A real failing fsync: /dev/null has no fsync, so the kernel answers EINVAL. */
    @Test
    void aFailedFsyncIsAnsweredWithAnError() throws Exception {
        try (DiskImage devnull = DiskImage.open(Path.of("/dev/null"), false)) {
            assertThatThrownBy(devnull::flush).isInstanceOfSatisfying(DiskException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL.code));
        }
        try (BlkRig rig = new BlkRig(dir, MiB, false, PAGES, 0);
                DiskImage devnull = DiskImage.open(Path.of("/dev/null"), false)) {
            BlkbackRequestProcessor p = processor(rig, devnull);
            rig.nextRequest().set(Blkif.OP_FLUSH_DISKCACHE, 0, 0, 7, 0);
            rig.nextRequest().set(Blkif.OP_WRITE_BARRIER, 0, 0, 8, 0);
            assertThat(run(rig, p)).containsExactly(new Rsp(7, Blkif.OP_FLUSH_DISKCACHE, Blkif.RSP_ERROR),
                    new Rsp(8, Blkif.OP_WRITE_BARRIER, Blkif.RSP_ERROR));
        }
    }

    /** EIO from fsync (a lost writeback) after the flush's data was written: ERROR, and the ring goes on. */
    @Test
    void anEioFromFsyncFailsThatFlushOnly() throws Exception {
        try (BlkRig rig = new BlkRig(dir, MiB, false, PAGES, 0)) {
            boolean[] failing = {true};
            BlockDevice eio = new Wrapped(rig.disk) {
                @Override
                public void flush() throws DiskException {
                    super.flush();
                    if (failing[0]) throw new DiskException(Errno.EIO, "fsync");
                }
            };
            BlkbackRequestProcessor p = processor(rig, eio);
            byte[] data = random(64 * 512);
            submit(rig, Blkif.OP_FLUSH_DISKCACHE, 11, 64, 0, data);
            rig.nextRequest().set(Blkif.OP_FLUSH_DISKCACHE, 0, 0, 12, 0);
            submit(rig, Blkif.OP_WRITE, 13, 64, 0, data);
            assertThat(run(rig, p)).containsExactly(new Rsp(11, Blkif.OP_FLUSH_DISKCACHE, Blkif.RSP_ERROR),
                    new Rsp(12, Blkif.OP_FLUSH_DISKCACHE, Blkif.RSP_ERROR), new Rsp(13, Blkif.OP_WRITE, Blkif.RSP_OKAY));
            failing[0] = false;
            rig.nextRequest().set(Blkif.OP_FLUSH_DISKCACHE, 0, 0, 14, 0);
            assertThat(run(rig, p)).containsExactly(new Rsp(14, Blkif.OP_FLUSH_DISKCACHE, Blkif.RSP_OKAY));
        }
    }

    // --- helpers ---

    /** A second processor on the rig's ring, over {@code disk}; use it instead of the rig's own. */
    private static BlkbackRequestProcessor processor(BlkRig rig, BlockDevice disk) {
        return new BlkbackRequestProcessor(rig.back, disk, GrantMapper.of(rig.dom0, rig.domid), 0, () -> {});
    }

    private static List<Rsp> run(BlkRig rig, BlkbackRequestProcessor p) {
        rig.front.pushRequestsAndCheckNotify();
        p.processPending();
        MemorySegment rsp = Arena.ofAuto().allocate(BlkifResponse.SIZE, 8);
        List<Rsp> out = new ArrayList<>();
        while (rig.front.copyNextResponse(rsp)) {
            BlkifResponse r = new BlkifResponse().wrap(rsp);
            out.add(new Rsp(r.id(), r.operation(), r.status()));
        }
        return out;
    }

    /** A request of {@code data} (whole pages) from data pages firstPage.., 8 sectors a segment. */
    private static void submit(BlkRig rig, int op, long id, long sector, int firstPage, byte[] data) {
        int nseg = data.length / 4096;
        BlkifRequest r = rig.nextRequest().set(op, nseg, 0, id, sector);
        for (int i = 0; i < nseg; i++) {
            r.setSegment(i, rig.ref(firstPage + i), 0, 7);
            MemorySegment.copy(data, i * 4096, rig.page(firstPage + i), JAVA_BYTE, 0, 4096);
        }
    }

    private byte[] random(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private static byte[] fileBytes(Path image, long sector, int sectors) throws Exception {
        try (FileChannel ch = FileChannel.open(image)) {
            ByteBuffer b = ByteBuffer.allocate(sectors * 512);
            ch.read(b, sector * 512);
            return b.array();
        }
    }

    /**
     * Whether this kernel and file system show writeback per file: a page written through the page cache is
     * dirty, and clean after fsync. Not so on tmpfs (nothing to write back) or before Linux 6.5 (no cachestat).
     */
    private boolean fsyncCleansPagesHere() throws Exception {
        Path probe = dir.resolve("probe");
        try (FileChannel ch = FileChannel.open(probe, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(random(4 * 4096)));
            Cachestat before = cachestat(probe);
            if (before == null || before.dirty() == 0) return false;
            ch.force(true);
            Cachestat after = cachestat(probe);
            return after.dirty() == 0 && after.writeback() == 0;
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    /** struct cachestat of a whole file: pages cached, dirty, under writeback. */
    record Cachestat(long cached, long dirty, long writeback) {
    }

    private static final int SYS_CACHESTAT = 451; // the same number on x86_64 and aarch64
    private static final MethodHandle SYSCALL = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));

    /** cachestat(2) over the whole of {@code file}, or null when the kernel has no such call. */
    private static Cachestat cachestat(Path file) throws Exception {
        int fd = Libc.open(file.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment range = a.allocate(16, 8); // {off, len}; len 0: to the end of the file
            MemorySegment st = a.allocate(5 * 8, 8); // nr_cache, nr_dirty, nr_writeback, nr_evicted, ...
            long r = (long) SYSCALL.invokeExact((long) SYS_CACHESTAT, (long) fd, range, st, 0L);
            if (r != 0) return null;
            return new Cachestat(st.get(JAVA_LONG, 0), st.get(JAVA_LONG, 8), st.get(JAVA_LONG, 16));
        } catch (Exception e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        } finally {
            Libc.close(fd);
        }
    }

    /** Delegates everything to a real device; tests override what they watch or break. */
    private static class Wrapped implements BlockDevice {
        private final BlockDevice real;

        Wrapped(BlockDevice real) {
            this.real = real;
        }

        @Override
        public long sectors() {
            return real.sectors();
        }

        @Override
        public boolean readOnly() {
            return real.readOnly();
        }

        @Override
        public boolean discardSupported() {
            return real.discardSupported();
        }

        @Override
        public void read(long sector, MemorySegment[] bufs, int count) throws DiskException {
            real.read(sector, bufs, count);
        }

        @Override
        public void write(long sector, MemorySegment[] bufs, int count) throws DiskException {
            real.write(sector, bufs, count);
        }

        @Override
        public void flush() throws DiskException {
            real.flush();
        }

        @Override
        public void discard(long sector, long count) throws DiskException {
            real.discard(sector, count);
        }

        @Override
        public void close() {
            // the rig closes the real device
        }
    }
}
