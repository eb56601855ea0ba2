package org.jxen.hypervisor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file the hypervisor created and maps whole. Reference counted: the owning domain holds one reference and
 * every grant mapping of it another, so a dead granter's memory stays on disk (and openable by a guest process
 * whose map the hypervisor already approved) until the last mapping is gone; then the file is deleted and the
 * hypervisor's arena closed.
 */
final class SharedFile {
    private final Path path;
    /** Files asked for whole are written out in full up to this size. */
    static final long PREALLOCATE_MAX = 1 << 20;
    /**
     * What they are written with: one direct buffer for every file (a heap buffer per domain would be a
     * humongous allocation, and the channel would copy it into a direct one before each write).
     */
    private static final java.nio.ByteBuffer ZEROS = java.nio.ByteBuffer.allocateDirect((int) PREALLOCATE_MAX).asReadOnlyBuffer();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment segment;
    private int references = 1;

    /**
     * A new file of {@code size} bytes, mapped. {@code whole}: written out in full when at most {@link
     * #PREALLOCATE_MAX} (the hypervisor's grant table): on a tmpfs that fills up later, touching a page never
     * written would be a SIGBUS. Otherwise sparse, as a guest's memory is whatever its size: its pages cost only
     * once used (writing out a thousand small guests' memories was a third of the host's domain creation).
     */
    SharedFile(Path path, long size, boolean whole) {
        this.path = path;
        try {
            MapCount.reserve();
        } catch (MapCount.Exhausted e) {
            arena.close();
            throw new UncheckedIOException(path + ": Cannot allocate memory (" + e.getMessage() + ")",
                    new IOException(e.getMessage(), e));
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ch.truncate(size);
            if (whole && size <= PREALLOCATE_MAX) {
                java.nio.ByteBuffer zeros = ZEROS.duplicate().limit((int) size);
                while (zeros.hasRemaining()) ch.write(zeros, zeros.position());
            } else {
                ch.write(java.nio.ByteBuffer.allocate(1), size - 1);
            }
            segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
        } catch (IOException e) {
            arena.close();
            MapCount.release();
            // The path in the message: a full /dev/shm is the user's to see, and to fix.
            throw new UncheckedIOException(path + ": " + e.getMessage(), e);
        }
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

    synchronized void release() {
        if (--references > 0) return;
        arena.close();
        MapCount.release();
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
