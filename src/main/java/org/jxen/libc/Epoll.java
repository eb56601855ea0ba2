package org.jxen.libc;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * epoll(7), eventfd reads and the pidfd calls that copy another process's descriptor (pidfd_getfd, Linux 5.6): what
 * a domain's event thread needs to wait for its event channels and its devices' descriptors in one call. Every
 * call returns -errno on failure. The pidfd syscall numbers are the same on x86_64 and aarch64.
 */
public final class Epoll {
    public static final int EPOLLIN = 1;
    public static final int EPOLLET = 1 << 31;
    private static final int EPOLL_CLOEXEC = 0x80000;
    private static final int CTL_ADD = 1;
    private static final int CTL_DEL = 2;
    private static final int CTL_MOD = 3;
    /** struct epoll_event is packed on x86_64 (12 bytes), naturally aligned (16) elsewhere. */
    public static final long EVENT_SIZE = "amd64".equals(System.getProperty("os.arch"))
            || "x86_64".equals(System.getProperty("os.arch")) ? 12 : 16;
    private static final long DATA_OFFSET = EVENT_SIZE == 12 ? 4 : 8;
    private static final long SYS_PIDFD_OPEN = 434;
    private static final long SYS_PIDFD_GETFD = 438;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    private static final MethodHandle CREATE = fn("epoll_create1", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle CTL = fn("epoll_ctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle WAIT = fn("epoll_wait", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle READ = fn("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            CAPTURE, Linker.Option.firstVariadicArg(1));

    private Epoll() {
    }

    private static MethodHandle fn(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), d, CAPTURE);
    }

    /** A new epoll instance (close-on-exec). */
    public static int create() {
        try {
            MemorySegment st = Libc.state();
            int r = (int) CREATE.invokeExact(st, EPOLL_CLOEXEC);
            return r < 0 ? -Libc.errno(st) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Watches {@code fd} for {@code events} (0: registered but not reported), reporting {@code data}. */
    public static int add(int ep, int fd, int events, long data) {
        return ctl(ep, CTL_ADD, fd, events, data);
    }

    public static int modify(int ep, int fd, int events, long data) {
        return ctl(ep, CTL_MOD, fd, events, data);
    }

    public static int remove(int ep, int fd) {
        return ctl(ep, CTL_DEL, fd, 0, 0);
    }

    private static int ctl(int ep, int op, int fd, int events, long data) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ev = a.allocate(16, 8);
            ev.set(JAVA_INT, 0, events);
            ev.set(JAVA_LONG.withByteAlignment(4), DATA_OFFSET, data);
            MemorySegment st = Libc.state();
            int r = (int) CTL.invokeExact(st, ep, op, fd, ev);
            return r < 0 ? -Libc.errno(st) : 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** epoll_wait into {@code events} (room for {@code max}); EINTR is returned as 0 events. */
    public static int await(int ep, MemorySegment events, int max, int timeoutMs) {
        try {
            MemorySegment st = Libc.state();
            int r = (int) WAIT.invokeExact(st, ep, events, max, timeoutMs);
            if (r >= 0) return r;
            int e = Libc.errno(st);
            return e == Libc.EINTR ? 0 : -e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The data of reported event {@code i}. */
    public static long data(MemorySegment events, int i) {
        return events.get(JAVA_LONG.withByteAlignment(4), i * EVENT_SIZE + DATA_OFFSET);
    }

    /** Resets a non-blocking eventfd (reads its count; EAGAIN when it was 0). */
    public static void drain(int eventFd, MemorySegment scratch8) {
        try {
            long unused = (long) READ.invokeExact(Libc.state(), eventFd, scratch8, 8L);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * A descriptor of this process for descriptor {@code fd} of process {@code pid} (pidfd_open, pidfd_getfd), or
     * -errno. Needs ptrace access to the process (same user, or CAP_SYS_PTRACE).
     */
    public static int copyOf(long pid, int fd) {
        try {
            MemorySegment st = Libc.state();
            long pidfd = (long) SYSCALL.invokeExact(st, SYS_PIDFD_OPEN, pid, 0L, 0L);
            if (pidfd < 0) return -Libc.errno(st);
            long r = (long) SYSCALL.invokeExact(st, SYS_PIDFD_GETFD, pidfd, (long) fd, 0L);
            int err = r < 0 ? Libc.errno(st) : 0;
            Libc.close((int) pidfd);
            return r < 0 ? -err : (int) r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
