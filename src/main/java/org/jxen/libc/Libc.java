package org.jxen.libc;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * jxen's libc bindings for files: the few calls a disk image needs, as FFM downcalls that capture errno: open/close, pread/pwrite and the
 * vectored preadv/pwritev (so a request's segments go to the kernel in one call, straight from the mapped
 * grant pages), fsync, fallocate (hole punching has no JDK API) and lseek for the size. Linux x86_64/aarch64
 * constants.
 */
public final class Libc {
    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int SEEK_END = 2;
    public static final int SEEK_DATA = 3;
    public static final int SEEK_HOLE = 4;
    public static final int ENXIO = 6;
    public static final int FALLOC_FL_KEEP_SIZE = 1;
    public static final int FALLOC_FL_PUNCH_HOLE = 2;
    public static final int EINTR = 4;
    /** IOV_MAX on Linux: the most iovecs one preadv/pwritev takes. */
    public static final int IOV_MAX = 1024;
    public static final long IOVEC_SIZE = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

    private static final MethodHandle OPEN = fn("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CLOSE = fn("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle PREAD = fn("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PWRITE = fn("pwrite", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PREADV = fn("preadv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
    private static final MethodHandle PWRITEV = fn("pwritev", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
    private static final MethodHandle FSYNC = fn("fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FALLOCATE = fn("fallocate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    /** cachestat(2), Linux 6.5; the same number on x86_64 and aarch64. */
    private static final long SYS_CACHESTAT = 451;
    private static final MethodHandle MMAP = fn("mmap", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = fn("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle MADVISE = fn("madvise", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    /** madvise(2): fault pages in writable without touching their bytes (Linux 5.14). */
    public static final int MADV_POPULATE_WRITE = 23;
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_SHARED = 1;
    public static final int EOPNOTSUPP = 95;
    private static final MethodHandle LSEEK = fn("lseek", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));

    private Libc() {}

    private static MethodHandle fn(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), d, CAPTURE);
    }

    /** Per-thread errno capture buffer: downcalls run on whichever thread drives a ring. */
    private static final ThreadLocal<MemorySegment> STATE_BUF =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(STATE));

    public static MemorySegment state() {
        return STATE_BUF.get();
    }

    public static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /** The new descriptor, or -errno. */
    public static int open(String path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = state();
            int fd = (int) OPEN.invokeExact(st, a.allocateFrom(path), flags);
            return fd < 0 ? -errno(st) : fd;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    public static void close(int fd) {
        try {
            int r = (int) CLOSE.invokeExact(state(), fd);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Returns bytes transferred, or -errno. */
    public static long pread(int fd, MemorySegment buf, long len, long off) {
        return transfer(PREAD, fd, buf, len, off);
    }

    public static long pwrite(int fd, MemorySegment buf, long len, long off) {
        return transfer(PWRITE, fd, buf, len, off);
    }

    public static long preadv(int fd, MemorySegment iov, int iovcnt, long off) {
        return vector(PREADV, fd, iov, iovcnt, off);
    }

    public static long pwritev(int fd, MemorySegment iov, int iovcnt, long off) {
        return vector(PWRITEV, fd, iov, iovcnt, off);
    }

    /** pread/pwrite: ssize_t f(int, void *, size_t, off_t); bytes transferred or -errno. */
    private static long transfer(MethodHandle call, int fd, MemorySegment buf, long len, long off) {
        try {
            MemorySegment st = state();
            long r = (long) call.invokeExact(st, fd, buf, len, off);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** preadv/pwritev: ssize_t f(int, const struct iovec *, int, off_t); bytes transferred or -errno. */
    private static long vector(MethodHandle call, int fd, MemorySegment iov, int iovcnt, long off) {
        try {
            MemorySegment st = state();
            long r = (long) call.invokeExact(st, fd, iov, iovcnt, off);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** 0 or errno. */
    public static int fsync(int fd) {
        try {
            MemorySegment st = state();
            int r = (int) FSYNC.invokeExact(st, fd);
            return r < 0 ? errno(st) : 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** 0 or errno. */
    public static int fallocate(int fd, int mode, long off, long len) {
        try {
            MemorySegment st = state();
            int r = (int) FALLOCATE.invokeExact(st, fd, mode, off, len);
            return r < 0 ? errno(st) : 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * A shared read-write mapping of {@code len} bytes of {@code fd} at {@code off} (a multiple of the page size):
     * stores into it are in the page cache at once, as a write(2) would put them. Unmapped only by {@link #munmap}
     * (no arena: its owner decides when, from whichever thread). Throws with the errno when the kernel refuses.
     */
    public static MemorySegment mmapShared(int fd, long off, long len) throws java.io.IOException {
        try {
            MemorySegment st = state();
            MemorySegment p = (MemorySegment) MMAP.invokeExact(st, MemorySegment.NULL, len, PROT_READ | PROT_WRITE,
                    MAP_SHARED, fd, off);
            if (p.address() == -1L) throw new java.io.IOException("mmap failed (errno " + errno(st) + ")");
            return p.reinterpret(len);
        } catch (java.io.IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Undoes {@link #mmapShared}; the segment must not be used after. 0 or errno. */
    public static int munmap(MemorySegment mapping) {
        try {
            MemorySegment st = state();
            int r = (int) MUNMAP.invokeExact(st, mapping, mapping.byteSize());
            return r < 0 ? errno(st) : 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** madvise(2) over {@code len} bytes of {@code mapping} from {@code off}; 0 or errno. */
    public static int madvise(MemorySegment mapping, long off, long len, int advice) {
        try {
            MemorySegment st = state();
            int r = (int) MADVISE.invokeExact(st, mapping.asSlice(off, len), len, advice);
            return r < 0 ? errno(st) : 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** lseek(2): the new offset, or -errno (SEEK_DATA past the last data: -ENXIO). */
    public static long lseek(int fd, long offset, int whence) {
        try {
            MemorySegment st = state();
            long r = (long) LSEEK.invokeExact(st, fd, offset, whence);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The file's size in bytes, or -errno. */
    public static long size(int fd) {
        try {
            MemorySegment st = state();
            long r = (long) LSEEK.invokeExact(st, fd, 0L, SEEK_END);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * cachestat(2) over the whole file: {nr_cache, nr_dirty, nr_writeback} pages, or null when the kernel has no
     * such call (before Linux 6.5) or refuses it. What a test of fsync looks at.
     */
    public static long[] cachestat(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment range = a.allocate(16, 8); // {off, len}; len 0: to the end of the file
            MemorySegment st = a.allocate(5 * 8, 8); // nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted
            long r = (long) SYSCALL.invokeExact(SYS_CACHESTAT, (long) fd, range, st, 0L);
            if (r != 0) return null;
            return new long[] {st.get(JAVA_LONG, 0), st.get(JAVA_LONG, 8), st.get(JAVA_LONG, 16)};
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
