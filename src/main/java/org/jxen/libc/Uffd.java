package org.jxen.libc;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.BitSet;

/**
 * Write tracking of a shared mapping as CRIU does it without soft-dirty bits: userfaultfd(2) registered in
 * write-protect mode with UFFD_FEATURE_WP_ASYNC (a write to a protected page is let through by the kernel, which
 * only clears the page's protection; nobody handles a fault) and PAGEMAP_SCAN (Linux 6.7) on the pagemap of the
 * process owning the mapping, which reports the pages written since they were last protected and protects them
 * again in the same walk (PM_SCAN_WP_MATCHING). The scan works on another process's pagemap as on our own.
 * Constants of linux/userfaultfd.h and linux/fs.h for x86_64 and aarch64.
 */
public final class Uffd {
    private static final long SYS_USERFAULTFD = "aarch64".equals(System.getProperty("os.arch")) ? 282 : 323;
    private static final int O_NONBLOCK = 0x800;
    private static final long UFFD_API = 0xAA;
    private static final long UFFD_FEATURE_WP_HUGETLBFS_SHMEM = 1L << 12;
    private static final long UFFD_FEATURE_WP_UNPOPULATED = 1L << 13;
    private static final long UFFD_FEATURE_WP_ASYNC = 1L << 15;
    /** _IOWR(0xAA, 0x3F, struct uffdio_api [24 bytes]). */
    private static final long UFFDIO_API = 0xC018AA3FL;
    /** _IOWR(0xAA, 0x00, struct uffdio_register [32 bytes]). */
    private static final long UFFDIO_REGISTER = 0xC020AA00L;
    private static final long UFFDIO_REGISTER_MODE_WP = 1L << 1;
    /** _IOWR('f', 16, struct pm_scan_arg [96 bytes]). */
    private static final long PAGEMAP_SCAN = 0xC0606610L;
    private static final long PM_SCAN_WP_MATCHING = 1;
    private static final long PM_SCAN_CHECK_WPASYNC = 2;
    private static final long PAGE_IS_WRITTEN = 1L << 1;
    private static final int PAGE = 4096;
    /** page_region entries per PAGEMAP_SCAN call. */
    private static final int REGIONS = 512;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("ioctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(1),
            Linker.Option.captureCallState("errno"));

    private Uffd() {}

    /**
     * A userfaultfd with {@code range} (a shared file mapping of this process, page-aligned) registered for
     * asynchronous write protection: nothing is protected yet. Its descriptor (keep it open as long as the
     * range is to be tracked; closing it ends the tracking), or -errno: EPERM without CAP_SYS_PTRACE when
     * vm.unprivileged_userfaultfd is 0, EINVAL on a kernel without WP_ASYNC (before 6.7).
     */
    public static int registerWriteProtectAsync(MemorySegment range) {
        int fd;
        try {
            MemorySegment st = Libc.state();
            long r = (long) SYSCALL.invokeExact(st, SYS_USERFAULTFD, (long) (Libc.O_CLOEXEC | O_NONBLOCK));
            if (r < 0) return -Libc.errno(st);
            fd = (int) r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment api = a.allocate(24, 8);
            api.set(JAVA_LONG, 0, UFFD_API);
            api.set(JAVA_LONG, 8, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_WP_UNPOPULATED);
            int rc = ioctl(fd, UFFDIO_API, api);
            if (rc == 0) {
                MemorySegment reg = a.allocate(32, 8);
                reg.set(JAVA_LONG, 0, range.address());
                reg.set(JAVA_LONG, 8, range.byteSize());
                reg.set(JAVA_LONG, 16, UFFDIO_REGISTER_MODE_WP);
                rc = ioctl(fd, UFFDIO_REGISTER, reg);
            }
            if (rc != 0) {
                Libc.close(fd);
                return -rc;
            }
            return fd;
        }
    }

    /**
     * PAGEMAP_SCAN over {@code [start, start + length)} of the process whose {@code /proc/PID/pagemap} is
     * {@code pagemapFd}: sets in {@code written} (bit = page index from {@code start}) every page written since
     * it was last protected, and protects every page again. 0, or an errno: EPERM when the range is not
     * registered for asynchronous write protection (PM_SCAN_CHECK_WPASYNC), ENOTTY before Linux 6.7.
     */
    public static int scanWrittenAndProtect(int pagemapFd, long start, long length, BitSet written) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment vec = a.allocate(24L * REGIONS, 8);
            MemorySegment arg = a.allocate(96, 8);
            long end = start + length;
            long from = start;
            while (from < end) {
                arg.fill((byte) 0);
                arg.set(JAVA_LONG, 0, 96);
                arg.set(JAVA_LONG, 8, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC);
                arg.set(JAVA_LONG, 16, from);
                arg.set(JAVA_LONG, 24, end);
                arg.set(JAVA_LONG, 40, vec.address());
                arg.set(JAVA_LONG, 48, REGIONS);
                arg.set(JAVA_LONG, 72, PAGE_IS_WRITTEN); // category_mask: written pages only
                arg.set(JAVA_LONG, 88, PAGE_IS_WRITTEN); // return_mask
                int n;
                try {
                    MemorySegment st = Libc.state();
                    n = (int) IOCTL.invokeExact(st, pagemapFd, PAGEMAP_SCAN, arg);
                    if (n < 0) return Libc.errno(st);
                } catch (Throwable t) {
                    throw new AssertionError(t);
                }
                for (int i = 0; i < n; i++) {
                    long s = vec.get(JAVA_LONG, 24L * i);
                    long e = vec.get(JAVA_LONG, 24L * i + 8);
                    written.set((int) ((s - start) / PAGE), (int) ((e - start) / PAGE));
                }
                long walkEnd = arg.get(JAVA_LONG, 32);
                if (walkEnd <= from) break;
                from = walkEnd;
            }
            return 0;
        }
    }

    /** Ends the tracking of a {@link #registerWriteProtectAsync} descriptor. */
    public static void close(int fd) {
        Libc.close(fd);
    }

    private static int ioctl(int fd, long request, MemorySegment arg) {
        try {
            MemorySegment st = Libc.state();
            int r = (int) IOCTL.invokeExact(st, fd, request, arg);
            return r < 0 ? Libc.errno(st) : 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
