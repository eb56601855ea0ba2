package org.jxen.xenstored.state;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.jxen.libc.Libc;

/**
 * xenstored's durable state in a directory: {@code snapshot}, a whole state stream (written aside and renamed
 * into place), and {@code journal}, the batches of records since that snapshot. The engine opens a batch per
 * request that changed something, and the event loop {@link #flush}es every batch of a round at once before any
 * reply of that round leaves: so a reply means its change is in the kernel (and, with {@code fsync}, on the
 * disk). Every batch carries a sequence number and a CRC32C; recovery applies whole batches only and cuts the
 * journal at the first torn or corrupt one. Loop thread only; no locks.
 */
public final class Journal implements AutoCloseable {
    private static final Logger LOG = System.getLogger("jxen.xenstored");
    public static final String SNAPSHOT = "snapshot";
    public static final String JOURNAL = "journal";
    /** The journal a snapshot is being made of, until the snapshot is in place. */
    public static final String JOURNAL_OLD = "journal.old";
    /** BATCH header: type, len, seq u64, crc u32, pad u32. */
    private static final int BATCH_HEADER = 24;

    /**
     * How a round's batches reach the kernel. {@code MMAP} (the default): one copy into a shared mapping of the
     * file, which is the page cache itself, so a crash of the process loses nothing copied there, as with
     * write(2), without a system call per round (at one connection every request is its own round, and the
     * pwrite(2) was a quarter of the request's cost: docs/bench.md). {@code WRITE}: one pwrite(2) per round.
     * With fsync, either is followed by fsync(2) of the file (which writes the mapping's dirty pages too).
     */
    public enum Io { WRITE, MMAP }

    /** The file is extended by this much at a time in MMAP mode, with fallocate(2): real blocks, no SIGBUS on a full disk. */
    static final long MMAP_CHUNK = 16L << 20;
    /**
     * The mapping covers this much of the file at a time and moves along with the end: the pages the daemon has
     * touched count in its resident size, so they stay few (the data stays in the page cache all the same).
     */
    static final long MMAP_WINDOW = 1L << 20;
    /** Mapping offsets are aligned to this (any page size up to 64 KiB). */
    private static final long MMAP_ALIGN = 64 * 1024;

    private final Path dir;
    private final boolean fsync;
    private FileChannel channel;
    /** The same file, for pwrite(2) and mmap(2) without the channel's locks and buffers. */
    private int fd;
    private final RecordWriter pending = new RecordWriter(64 * 1024);
    private final CRC32C crc = new CRC32C();
    private final Io io;
    /** WRITE: native memory pwrite(2) reads from (one copy per round). */
    private MemorySegment out;
    /** MMAP: the mapped window of the file, where it starts, and how far the file is allocated. */
    private MemorySegment window;
    private long windowStart;
    private long allocated;
    /** A view of {@code pending}'s array for segment-to-segment copies (cheaper under C1 than array copies). */
    private MemorySegment pendingView;
    private byte[] pendingViewOf;
    private long seq;
    private long size;
    private int batchStart = -1;
    private long batches;
    private long syncs;
    private boolean needsFold;
    /** The thread making the last snapshot durable, and what it met if it failed (read on the loop). */
    private volatile Thread folder;
    private volatile IOException foldFailure;

    public Io io() {
        return io;
    }

    private Journal(Path dir, boolean fsync, Io io, FileChannel channel, long seq, long size, long fileSize)
            throws IOException {
        this.dir = dir;
        this.fsync = fsync;
        this.io = io;
        this.channel = channel;
        this.fd = openFd(dir.resolve(JOURNAL));
        this.seq = seq;
        this.size = size;
        this.allocated = fileSize;
    }

    /** What recovery found. */
    public record Recovered(long snapshotSeq, long lastSeq, int batchesApplied, long bytesCut) {}

    /**
     * Reads the snapshot and the journal into {@code visitor} (snapshot first, then every whole batch after
     * it), cuts a torn or corrupt tail off the journal with a log line, and opens the journal for appending.
     */
    public static Journal open(Path dir, boolean fsync, StateVisitor visitor, Consumer<Recovered> report)
            throws IOException {
        return open(dir, fsync, Io.MMAP, visitor, report);
    }

    /**
     * As {@link #open(Path, boolean, StateVisitor, Consumer)}, writing with {@code io}. A journal a snapshot was
     * being made of when the daemon stopped ({@code journal.old}) is read between the snapshot and the journal;
     * {@link #needsFold} then says so, and the caller folds it at once with {@link #snapshotNow}.
     */
    public static Journal open(Path dir, boolean fsync, Io io, StateVisitor visitor, Consumer<Recovered> report)
            throws IOException {
        Files.createDirectories(dir);
        long snapSeq = readSnapshot(dir.resolve(SNAPSHOT), visitor);
        // Never renamed into place: a snapshot begun and not finished is nothing.
        Files.deleteIfExists(dir.resolve(SNAPSHOT + ".tmp"));
        Scan scan = new Scan(snapSeq, visitor);
        Path old = dir.resolve(JOURNAL_OLD);
        boolean hadOld = Files.exists(old);
        if (hadOld) {
            try (FileChannel och = FileChannel.open(old, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                scan.file(och, old);
            }
        }
        Path jf = dir.resolve(JOURNAL);
        FileChannel ch = FileChannel.open(jf, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            long fileSize = scan.file(ch, jf);
            report.accept(new Recovered(snapSeq, scan.last, scan.applied, scan.cut));
            ch.position(scan.good);
            Journal j = new Journal(dir, fsync, io, ch, scan.last, scan.good, fileSize);
            j.needsFold = hadOld;
            return j;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Recovery's walk over the journal files in order: the sequence runs on from one file into the next. */
    private static final class Scan {
        final long snapSeq;
        final StateVisitor visitor;
        long last;
        long prev = -1;
        int applied;
        long cut;
        /** In the file scanned last: where its whole batches end. */
        long good;

        Scan(long snapSeq, StateVisitor visitor) {
            this.snapSeq = snapSeq;
            this.visitor = visitor;
            this.last = snapSeq;
        }

        /** Applies the file's whole batches, cuts what follows them; the file's size after. */
        long file(FileChannel ch, Path jf) throws IOException {
            long fileSize = ch.size();
            if (fileSize > Integer.MAX_VALUE - 16) throw new IOException("journal " + jf + " is too large (" + fileSize + " bytes)");
            // Read through a mapping, not into the heap: the daemon's heap is a few MB, a mapped journal 16 MiB.
            try (Arena arena = Arena.ofConfined()) {
                ByteBuffer all = fileSize == 0 ? ByteBuffer.allocate(0)
                        : ch.map(FileChannel.MapMode.READ_ONLY, 0, fileSize, arena).asByteBuffer();
                boolean zeroTail = false;
                int appliedBefore = applied;
                if (fileSize < RecordWriter.HEADER_SIZE || !RecordReader.header(all.duplicate())) {
                    if (fileSize > 0) LOG.log(Level.WARNING, "xenstored: journal {0}: no valid header in its {1} bytes; starting it anew", jf, String.valueOf(fileSize));
                    cut += fileSize;
                    ch.truncate(0);
                    ch.write(ByteBuffer.wrap(RecordWriter.header()), 0);
                    good = RecordWriter.HEADER_SIZE;
                    return good;
                }
                all.position(RecordWriter.HEADER_SIZE);
                good = RecordWriter.HEADER_SIZE;
                String why = null;
                while (all.hasRemaining()) {
                    int at = all.position();
                    ByteBuffer b = all.slice(at, all.remaining()).order(ByteOrder.LITTLE_ENDIAN);
                    if (b.remaining() >= 4 && b.getInt(0) == 0 && zeroFrom(all, at)) { // the allocated, never written end
                        zeroTail = true;
                        break;
                    }
                    if (b.remaining() < BATCH_HEADER) {
                        why = "a torn batch header";
                        break;
                    }
                    int type = b.getInt();
                    int len = b.getInt();
                    int padded = len + ((8 - (len & 7)) & 7);
                    if (type != RecordType.BATCH || len < 16) {
                        why = "a record that is no batch (" + RecordType.name(type) + ", len " + len + ")";
                        break;
                    }
                    if (padded > b.remaining()) {
                        why = "a torn batch (" + len + " bytes announced, " + b.remaining() + " there)";
                        break;
                    }
                    long batchSeq = b.getLong();
                    int crc = b.getInt();
                    int zero = b.getInt();
                    for (int i = at + 8 + len; i < at + 8 + padded; i++) zero |= all.get(i);
                    CRC32C c = new CRC32C();
                    c.update(all.slice(at + 8, 8));
                    c.update(all.slice(at + BATCH_HEADER, len - 16));
                    // The padding is ours to check too: written as zeros, so anything else is damage.
                    if ((int) c.getValue() != crc || zero != 0) {
                        why = "a batch whose checksum does not match (seq " + batchSeq + ")";
                        break;
                    }
                    if (prev >= 0 && batchSeq != prev + 1) {
                        why = "a batch out of sequence (seq " + batchSeq + " after " + prev + ")";
                        break;
                    }
                    prev = batchSeq;
                    if (batchSeq > snapSeq) {
                        try {
                            RecordReader.records(all.slice(at + BATCH_HEADER, len - 16), visitor);
                        } catch (RecordReader.BadRecordException e) {
                            // The checksum matched, so this is not a torn write: refuse to guess.
                            throw new IOException("journal " + jf + " batch " + batchSeq + ": " + e.getMessage(), e);
                        }
                        applied++;
                        last = batchSeq;
                    }
                    all.position(at + 8 + padded);
                    good = all.position();
                }
                if (why != null) {
                    LOG.log(Level.WARNING, "xenstored: journal {0}: cut at offset {1}, after {2} whole batch(es): {3}; {4} byte(s) dropped",
                            jf, String.valueOf(good), String.valueOf(applied - appliedBefore), why, String.valueOf(fileSize - good));
                    cut += fileSize - good;
                    ch.truncate(good);
                    return good;
                }
                return zeroTail ? fileSize : good;
            }
        }
    }

    /** Whether everything from {@code at} to the end is zero: the allocated, never written end of a mapped journal. */
    private static boolean zeroFrom(ByteBuffer all, int at) {
        ByteBuffer zeros = ByteBuffer.allocate(64 * 1024);
        for (int i = at; i < all.limit(); i += zeros.capacity()) {
            int n = Math.min(zeros.capacity(), all.limit() - i);
            if (all.slice(i, n).mismatch(zeros.slice(0, n)) != -1) return false;
        }
        return true;
    }

    /** Applies the snapshot, if any; its sequence number (0 without one). */
    private static long readSnapshot(Path file, StateVisitor visitor) throws IOException {
        if (!Files.exists(file)) return 0;
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        if (!RecordReader.header(b)) throw new IOException("snapshot " + file + " has no state-stream header");
        ByteBuffer r = b.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (r.remaining() < 24 || r.getInt() != RecordType.SNAPSHOT_SEQ || r.getInt() != 16) {
            throw new IOException("snapshot " + file + " does not start with its sequence record");
        }
        long seq = r.getLong();
        int crc = r.getInt();
        r.getInt();
        CRC32C c = new CRC32C();
        c.update(r.duplicate());
        if ((int) c.getValue() != crc) throw new IOException("snapshot " + file + " is corrupt (checksum)");
        try {
            if (!RecordReader.records(r, visitor)) throw new IOException("snapshot " + file + " has no END record");
        } catch (RecordReader.BadRecordException e) {
            throw new IOException("snapshot " + file + ": " + e.getMessage(), e);
        }
        return seq;
    }

    /** Starts a batch; the caller writes records into the returned writer, then {@link #endBatch}. */
    public RecordWriter beginBatch() {
        if (batchStart >= 0) throw new IllegalStateException("batch already open");
        batchStart = pending.size();
        pending.u32(RecordType.BATCH).u32(0).u64(seq + 1).u32(0).u32(0);
        return pending;
    }

    /** Seals the open batch; a batch without records is dropped. Returns whether one was sealed. */
    public boolean endBatch() {
        int start = batchStart;
        batchStart = -1;
        int end = pending.size();
        if (end == start + BATCH_HEADER) {
            pending.truncate(start);
            return false;
        }
        int len = end - start - 8;
        pending.putU32At(start + 4, len);
        crc.reset();
        pending.update(crc, start + 8, start + 16);
        pending.update(crc, start + BATCH_HEADER, end);
        pending.putU32At(start + 16, (int) crc.getValue());
        int pad = (8 - (len & 7)) & 7;
        for (int i = 0; i < pad; i++) pending.u8(0);
        seq++;
        batches++;
        return true;
    }

    public boolean hasPending() {
        return !pending.isEmpty();
    }

    /** Hands every sealed batch to the kernel at once: one copy into the mapping, or one pwrite(2); then fsync in that mode. */
    public void flush() throws IOException {
        if (pending.isEmpty()) return;
        int n = pending.size();
        if (pendingViewOf != pending.array()) {
            pendingViewOf = pending.array();
            pendingView = MemorySegment.ofArray(pendingViewOf);
        }
        if (io == Io.MMAP) {
            if (window == null || size + n > windowStart + window.byteSize()) moveWindow(n);
            try {
                MemorySegment.copy(pendingView, 0, window, size - windowStart, n);
                prefaulter.reached(size + n);
            } catch (InternalError e) {
                // A fault in the mapping (the file system could not back the page): the batch is not durable.
                throw new IOException("journal " + dir.resolve(JOURNAL) + ": store into the mapping failed: " + e.getMessage(), e);
            }
        } else {
            if (out == null || out.byteSize() < n) out = Arena.ofAuto().allocate(Math.max(n, 64 * 1024));
            MemorySegment.copy(pendingView, 0, out, 0, n);
            long done = 0;
            while (done < n) {
                long w = Libc.pwrite(fd, done == 0 ? out : out.asSlice(done), n - done, size + done);
                if (w < 0) throw new IOException("journal " + dir.resolve(JOURNAL) + ": write failed (errno " + -w + ")");
                done += w;
            }
        }
        size += n;
        pending.clear();
        if (fsync) {
            int e = Libc.fsync(fd);
            if (e != 0) throw new IOException("journal " + dir.resolve(JOURNAL) + ": fsync failed (errno " + e + ")");
            syncs++;
        }
    }

    /** Maps the window that holds [size, size + n), allocating the file further first if it ends before. */
    private void moveWindow(int n) throws IOException {
        long start = size & -MMAP_ALIGN;
        long len = Math.max(MMAP_WINDOW, (size + n - start + MMAP_ALIGN - 1) & -MMAP_ALIGN);
        if (start + len > allocated) {
            long to = (start + len + MMAP_CHUNK - 1) / MMAP_CHUNK * MMAP_CHUNK;
            int e = Libc.fallocate(fd, 0, allocated, to - allocated);
            if (e == Libc.EOPNOTSUPP) {
                // No fallocate here (some file systems): a sparse extension, blocks found on first store.
                channel.write(ByteBuffer.wrap(new byte[1]), to - 1);
            } else if (e != 0) {
                throw new IOException("journal " + dir.resolve(JOURNAL) + ": cannot allocate " + (to - allocated) + " bytes (errno " + e + ")");
            }
            allocated = to;
        }
        unmap();
        window = Libc.mmapShared(fd, start, len);
        windowStart = start;
        prefaulter.lock.lock();
        try {
            prefaulter.mapped(window, start);
        } finally {
            prefaulter.lock.unlock();
        }
    }

    private void unmap() {
        if (window == null) return;
        prefaulter.lock.lock();
        try {
            Libc.munmap(window);
            window = null;
            prefaulter.window = null;
        } finally {
            prefaulter.lock.unlock();
        }
    }

    /**
     * Faults the pages ahead of the journal's end in, writable, from its own thread (MADV_POPULATE_WRITE: the
     * kernel does what a first store would, without changing a byte). A first store into a page of the mapping
     * is a page fault in which ext4 starts a transaction handle, and while other processes' fsyncs hold the
     * file system's journal that can wait for milliseconds: with the pages ready ahead, the loop's copy is a
     * plain memory copy. The lock only orders it against the loop's rare unmapping of the window.
     */
    private final class Prefaulter implements Runnable {
        static final long AHEAD = 256 * 1024;
        final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
        /** The window the loop writes into, where it starts, and the file offset up to which it is faulted in. */
        volatile MemorySegment window;
        volatile long start;
        volatile long want;
        long done;
        volatile boolean stop;
        volatile boolean unsupported;
        Thread thread;

        /** Loop thread: the journal's end moved to {@code end}; wake the thread when it should run ahead again. */
        void reached(long end) {
            if (unsupported || end + AHEAD / 2 < want) return;
            want = end + AHEAD;
            if (thread == null) thread = Thread.ofPlatform().daemon().name("xenstored-journal-prefault").start(this);
            java.util.concurrent.locks.LockSupport.unpark(thread);
        }

        void mapped(MemorySegment w, long s) {
            start = s;
            window = w;
            done = s;
        }

        @Override
        public void run() {
            while (!stop) {
                java.util.concurrent.locks.LockSupport.park(this);
                lock.lock();
                try {
                    MemorySegment w = window;
                    if (w == null) continue;
                    long s = start;
                    long from = Math.max(done, s) & -4096L;
                    long to = Math.min(want, s + w.byteSize());
                    if (to <= from) continue;
                    int e = Libc.madvise(w, from - s, to - from, Libc.MADV_POPULATE_WRITE);
                    if (e == 22 /* EINVAL: before Linux 5.14 */) unsupported = true;
                    done = to;
                } finally {
                    lock.unlock();
                }
            }
        }

        void close() {
            stop = true;
            if (thread != null) {
                java.util.concurrent.locks.LockSupport.unpark(thread);
                try {
                    thread.join(5000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private final Prefaulter prefaulter = new Prefaulter();

    /** Bytes in the journal file. */
    public long size() {
        return size;
    }

    public long seq() {
        return seq;
    }

    public long batches() {
        return batches;
    }

    public boolean fsync() {
        return fsync;
    }

    public Path directory() {
        return dir;
    }

    /** Whether recovery found a journal a snapshot was being made of: fold it with {@link #snapshotNow} before serving. */
    public boolean needsFold() {
        return needsFold;
    }

    /** Whether a snapshot started by {@link #snapshot} is still being made durable. */
    public boolean folding() {
        return folder != null && folder.isAlive();
    }

    /**
     * Folds the journal into a snapshot of the whole state ({@code dump} writes its records) as of the last
     * sealed batch, without stopping the loop for the disk: the snapshot is written aside here (page cache
     * only), the journal is renamed {@code journal.old} and a fresh one takes the next batches, and a
     * background thread forces the snapshot to disk, renames it into place and removes {@code journal.old}. A
     * crash at any point leaves the old snapshot with {@code journal.old} and the journal, or the new snapshot
     * (whose seq makes recovery skip what it holds) with them. Does nothing while the previous fold runs; after
     * one that failed ({@code journal.old} still there), folds both files here and now, forced, which throws if
     * the disk still refuses.
     */
    public void snapshot(Consumer<RecordWriter> dump) throws IOException {
        if (folding()) return;
        if (needsFold || Files.exists(dir.resolve(JOURNAL_OLD))) {
            foldHere(dump);
            return;
        }
        flush();
        Path tmp = dir.resolve(SNAPSHOT + ".tmp");
        writeSnapshotData(tmp, seq, dump);
        rotate();
        foldFailure = null;
        folder = Thread.ofPlatform().daemon().name("xenstored-snapshot").start(() -> {
            try {
                force(tmp);
                install(tmp, dir.resolve(SNAPSHOT));
                Files.deleteIfExists(dir.resolve(JOURNAL_OLD));
            } catch (IOException e) {
                // journal.old stays, and with it every batch: the next snapshot folds it on the loop.
                LOG.log(Level.WARNING, "xenstored: snapshot {0} not made durable: {1}", dir.resolve(SNAPSHOT), e.toString());
                foldFailure = e;
            }
        });
    }

    /** Waits for the fold in flight, if any; throws what it met. */
    public void awaitFold() throws IOException {
        Thread f = folder;
        if (f != null) {
            try {
                f.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted waiting for the snapshot", e);
            }
        }
        IOException failed = foldFailure;
        foldFailure = null;
        if (failed != null) throw failed;
    }

    /** {@link #snapshot}, and waits until it is in place (live update, recovery of a fold, tests). */
    public void snapshotNow(Consumer<RecordWriter> dump) throws IOException {
        awaitFold();
        snapshot(dump);
        awaitFold();
    }

    /** Snapshot and journal(s) replaced by a snapshot made durable on this thread; journal.old goes with the rest. */
    private void foldHere(Consumer<RecordWriter> dump) throws IOException {
        flush();
        writeSnapshot(dir.resolve(SNAPSHOT), seq, dump);
        Files.deleteIfExists(dir.resolve(JOURNAL_OLD));
        unmap();
        channel.truncate(RecordWriter.HEADER_SIZE);
        channel.position(RecordWriter.HEADER_SIZE);
        if (fsync) channel.force(true);
        size = RecordWriter.HEADER_SIZE;
        allocated = size;
        needsFold = false;
    }

    /** journal becomes journal.old; a new journal with only its header takes the next batches. */
    private void rotate() throws IOException {
        unmap();
        // What a mapped journal allocated past its end is not part of it.
        if (allocated > size) channel.truncate(size);
        Path jf = dir.resolve(JOURNAL);
        Files.move(jf, dir.resolve(JOURNAL_OLD), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Libc.close(fd);
        channel.close();
        channel = FileChannel.open(jf, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        channel.write(ByteBuffer.wrap(RecordWriter.header()), 0);
        fd = openFd(jf);
        size = RecordWriter.HEADER_SIZE;
        allocated = size;
        if (fsync) {
            // The new journal's name must survive a machine crash as its batches will.
            channel.force(true);
            forceDirectory(dir);
        }
    }

    private static int openFd(Path jf) throws IOException {
        int fd = Libc.open(jf.toString(), Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd < 0) throw new IOException("cannot open " + jf + " for writing (errno " + -fd + ")");
        return fd;
    }

    /** A state stream of the whole state into {@code file}, atomically: aside, forced, renamed. */
    public static void writeSnapshot(Path file, long seq, Consumer<RecordWriter> dump) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        writeSnapshotData(tmp, seq, dump);
        force(tmp);
        install(tmp, file);
    }

    /**
     * The stream into {@code tmp}, 64 KiB at a time (a whole-state array would be as big as the store, in a
     * heap of a few MB): header, SNAPSHOT_SEQ, then the records; the checksum goes into SNAPSHOT_SEQ at the end.
     */
    private static void writeSnapshotData(Path tmp, long seq, Consumer<RecordWriter> dump) throws IOException {
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            RecordWriter head = new RecordWriter(64);
            head.bytes(RecordWriter.header());
            head.u32(RecordType.SNAPSHOT_SEQ).u32(16).u64(seq).u32(0).u32(0);
            writeFully(out, head.view());
            CRC32C c = new CRC32C();
            RecordWriter w = new RecordWriter(64 * 1024, (buf, len) -> {
                c.update(buf, 0, len);
                writeFully(out, ByteBuffer.wrap(buf, 0, len));
            });
            try {
                w.globalData();
                dump.accept(w);
                w.endRecord();
                w.spill();
            } catch (java.io.UncheckedIOException e) {
                throw e.getCause();
            }
            ByteBuffer crcBytes = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, (int) c.getValue());
            out.write(crcBytes, RecordWriter.HEADER_SIZE + 16);
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) out.write(b);
    }

    private static void force(Path file) throws IOException {
        try (FileChannel f = FileChannel.open(file, StandardOpenOption.WRITE)) {
            f.force(true);
        }
    }

    private static void install(Path tmp, Path file) throws IOException {
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        forceDirectory(file.getParent());
    }

    private static void forceDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException ignored) {
            // Some file systems cannot sync a directory; the rename is then as durable as they make it.
        }
    }

    @Override
    public void close() throws IOException {
        try {
            flush();
            awaitFold();
            unmap();
            // A clean stop leaves the file as long as what it holds: no allocated zeros behind.
            if (allocated > size) channel.truncate(size);
        } finally {
            unmap();
            prefaulter.close();
            Libc.close(fd);
            channel.close();
        }
    }
}
