package org.jxen.hypervisor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jxen.libc.Libc;

/**
 * A file the hypervisor created and maps whole. Reference counted: the owning domain holds one reference and
 * every grant mapping of it another, so a dead granter's memory stays on disk (and openable by a guest process
 * whose map the hypervisor already approved) until the last mapping is gone; then the file is deleted and the
 * hypervisor's arena closed.
 */
final class SharedFile {
    private final Path path;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment segment;
    private int references = 1;

    /** Bytes from the start that have pages of their own (see {@link #allocate}). */
    private long allocated;

    /**
     * A new file of {@code size} bytes, mapped, its first {@code allocated} bytes given pages now ({@link
     * #allocate}) and the rest sparse: a guest's memory costs only the pages it uses, whatever its size.
     */
    SharedFile(Path path, long size, long allocated) {
        this.path = path;
        try {
            MapCount.reserve();
        } catch (MapCount.Exhausted e) {
            arena.close();
            throw new UncheckedIOException(path + ": Cannot allocate memory (" + e.getMessage() + ")",
                    new IOException(e.getMessage(), e));
        }
        try {
            Files.createFile(path);
        } catch (IOException e) {
            arena.close();
            MapCount.release();
            throw new UncheckedIOException(path + ": " + e.getMessage(), e);
        }
        // setLength is ftruncate: the size without a page (FileChannel.truncate only shrinks, and writing the last
        // byte instead gave every file one page it may never use).
        try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(size);
            if (allocated > 0) allocate(allocated);
            segment = file.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
        } catch (IOException e) {
            arena.close();
            MapCount.release();
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // The run directory goes with the host; what matters here is the failure above.
            }
            // The path in the message: a full /dev/shm is the user's to see, and to fix.
            throw new UncheckedIOException(path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Gives the file's first {@code upTo} bytes pages of their own now (fallocate, which keeps what is written):
     * on a tmpfs that fills up later, the first touch of a page it never had would be a SIGBUS in whichever
     * process touched it, so a table the hypervisor and its guests write (the grant table, as it grows) gets its
     * pages before anyone may use them, and a full /dev/shm is an error of the call that asked.
     */
    synchronized void allocate(long upTo) throws IOException {
        if (upTo <= allocated) return;
        int fd = Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd < 0) throw failure("open", -fd);
        try {
            int e = Libc.fallocate(fd, Libc.FALLOC_FL_KEEP_SIZE, allocated, upTo - allocated);
            if (e != 0) throw failure("fallocate", e);
        } finally {
            Libc.close(fd);
        }
        allocated = upTo;
    }

    /**
     * A hole of {@code len} bytes at {@code off}: the host has the pages back (fallocate, keeping the size), and
     * every mapping reads zeros there.
     */
    synchronized void punch(long off, long len) throws IOException {
        int fd = Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd < 0) throw failure("open", -fd);
        try {
            int e = Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, off, len);
            if (e != 0) throw failure("fallocate", e);
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * Closes an arena, giving threads still inside a short access (a futex call on a word of it, a copy, a
     * backend's I/O into a granted page) time to leave: a shared arena cannot close while acquired. One that stays
     * busy is left open and reported ({@code what} says whose); its files are unlinked all the same, so the memory
     * goes when the process exits.
     */
    static boolean closeWhenLeft(Arena a, String what) {
        for (int attempt = 0; ; attempt++) {
            try {
                a.close();
                return true;
            } catch (IllegalStateException busy) {
                if (attempt == 200) {
                    System.getLogger("jxen.hypervisor").log(System.Logger.Level.WARNING,
                            what + " is still in use at close; leaving it mapped: " + busy.getMessage());
                    return false;
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }

    /** strerror's words for what a file on a tmpfs meets ({@link MapCount#errnoOf} reads them back). */
    private static IOException failure(String call, int errno) {
        return new IOException(call + ": " + switch (Errno.of(errno)) {
            case ENOSPC -> "No space left on device";
            case EMFILE -> "Too many open files";
            case ENOMEM -> "Cannot allocate memory";
            default -> "errno " + errno;
        });
    }

    Path path() {
        return path;
    }

    MemorySegment segment() {
        return segment;
    }

    synchronized void retain() {
        if (references == 0) throw new IllegalStateException(path + " already released");
        references++;
    }

    /**
     * Gives a reference back; the last one unmaps ({@link #closeWhenLeft}: mappers in this process use the
     * hypervisor's mapping) and deletes the file.
     */
    synchronized void release() {
        if (references > 1) {
            references--;
            return;
        }
        if (references == 0) throw new IllegalStateException(path + " already released");
        references = 0;
        if (closeWhenLeft(arena, path.toString())) MapCount.release();
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized int references() {
        return references;
    }

    /** Maps part of any file of a run directory: how guests map their own files and single granted pages. */
    static MemorySegment map(Path path, FileChannel.MapMode mode, long offset, long size, Arena arena) {
        StandardOpenOption[] opts = mode == FileChannel.MapMode.READ_ONLY
                ? new StandardOpenOption[] {StandardOpenOption.READ}
                : new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE};
        try (FileChannel ch = FileChannel.open(path, opts)) {
            return ch.map(mode, offset, size, arena);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
