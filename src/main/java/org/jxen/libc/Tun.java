package org.jxen.libc;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * The system calls of a network device's data path and of network namespaces, as FFM downcalls capturing errno:
 * TAP devices (open /dev/net/tun, TUNSETIFF with IFF_TAP|IFF_NO_PI, SIOCSIFHWADDR on the tun descriptor), read and
 * write of whole frames, poll with an eventfd to stop a blocked reader, and setns/unshare of CLONE_NEWNET, which
 * act on the calling thread only (a task's namespaces are per thread in Linux). Linux x86_64/aarch64 constants.
 */
public final class Tun {
    public static final int IFF_TAP = 0x0002;
    public static final int IFF_NO_PI = 0x1000;
    /** Every frame read or written is preceded by a struct virtio_net_hdr ({@link #VNET_HDR_LEN} bytes). */
    public static final int IFF_VNET_HDR = 0x4000;
    public static final int O_NONBLOCK = 0x800;
    /** sizeof(struct virtio_net_hdr), the default TUNSETVNETHDRSZ. */
    public static final int VNET_HDR_LEN = 10;
    /** _IOW('T', 208, unsigned int): which offloads the reader of the device can take (TUN_F_*). */
    public static final long TUNSETOFFLOAD = 0x400454d0L;
    public static final int TUN_F_CSUM = 0x01;
    public static final int TUN_F_TSO4 = 0x02;
    public static final int TUN_F_TSO6 = 0x04;
    /** _IOW('T', 202, int). */
    public static final long TUNSETIFF = 0x400454caL;
    public static final long SIOCSIFHWADDR = 0x8924;
    public static final int CLONE_NEWNET = 0x40000000;
    public static final int ARPHRD_ETHER = 1;
    public static final int IFNAMSIZ = 16;
    public static final int EPERM = 1;
    public static final int EAGAIN = 11;
    public static final int EBUSY = 16;
    private static final int IFREQ_SIZE = 40;
    private static final short POLLIN = 1;
    private static final int EFD_CLOEXEC = 0x80000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("ioctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle IOCTL_VALUE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("ioctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle WRITEV = fn("writev", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle READ = fn("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = fn("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle POLL = fn("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle EVENTFD = fn("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SETNS = fn("setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle UNSHARE = fn("unshare", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private Tun() {}

    private static MethodHandle fn(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), d, Linker.Option.captureCallState("errno"));
    }

    /** A struct ifreq with {@code name} in ifr_name. */
    private static MemorySegment ifreq(Arena a, String name) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        if (n.length >= IFNAMSIZ) throw new IllegalArgumentException("interface name too long: " + name);
        MemorySegment r = a.allocate(IFREQ_SIZE, 8);
        MemorySegment.copy(n, 0, r, JAVA_BYTE, 0, n.length);
        return r;
    }

    /**
     * Opens /dev/net/tun and attaches it to the TAP device {@code name} (created if it does not exist) in the
     * calling thread's network namespace: the descriptor, or -errno.
     */
    public static int openTap(String name) {
        return openTap(name, 0);
    }

    /** As {@link #openTap(String)}, with {@code extraFlags} (such as {@link #IFF_VNET_HDR}) in ifr_flags. */
    public static int openTap(String name, int extraFlags) {
        return openTap(name, extraFlags, false);
    }

    /** As {@link #openTap(String, int)}; {@code nonBlocking}: reads return EAGAIN instead of waiting. */
    public static int openTap(String name, int extraFlags, boolean nonBlocking) {
        int fd = Libc.open("/dev/net/tun", Libc.O_RDWR | Libc.O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0));
        if (fd < 0) return fd;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = ifreq(a, name);
            r.set(JAVA_SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI | extraFlags));
            int rc = ioctl(fd, TUNSETIFF, r);
            if (rc != 0) {
                Libc.close(fd);
                return -rc;
            }
            return fd;
        }
    }

    /** SIOCSIFHWADDR on a tun descriptor: the device's Ethernet address. 0 or errno. */
    public static int setMac(int tunFd, byte[] mac) {
        if (mac.length != 6) throw new IllegalArgumentException("a MAC address has 6 bytes");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(IFREQ_SIZE, 8);
            r.set(JAVA_SHORT, IFNAMSIZ, (short) ARPHRD_ETHER); // sockaddr.sa_family
            MemorySegment.copy(mac, 0, r, JAVA_BYTE, IFNAMSIZ + 2, 6);
            return ioctl(tunFd, SIOCSIFHWADDR, r);
        }
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

    /** TUNSETOFFLOAD: the TUN_F_* offloads the reader takes (the device's TSO/checksum features follow). 0 or errno. */
    public static int setOffload(int tunFd, int tunFlags) {
        try {
            MemorySegment st = Libc.state();
            int r = (int) IOCTL_VALUE.invokeExact(st, tunFd, TUNSETOFFLOAD, (long) tunFlags);
            return r < 0 ? Libc.errno(st) : 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** writev(2) of {@code count} struct iovec at {@code iov}: bytes written, or -errno. */
    public static long writev(int fd, MemorySegment iov, int count) {
        try {
            MemorySegment st = Libc.state();
            long r = (long) WRITEV.invokeExact(st, fd, iov, count);
            return r < 0 ? -Libc.errno(st) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** read(2): bytes read, or -errno. */
    public static long read(int fd, MemorySegment buf, long len) {
        try {
            MemorySegment st = Libc.state();
            long r = (long) READ.invokeExact(st, fd, buf, len);
            return r < 0 ? -Libc.errno(st) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** write(2): bytes written, or -errno. */
    public static long write(int fd, MemorySegment buf, long len) {
        try {
            MemorySegment st = Libc.state();
            long r = (long) WRITE.invokeExact(st, fd, buf, len);
            return r < 0 ? -Libc.errno(st) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** An eventfd (close-on-exec), or -errno: what a blocked {@link #pollIn} is woken with. */
    public static int eventfd() {
        try {
            MemorySegment st = Libc.state();
            int r = (int) EVENTFD.invokeExact(st, 0, EFD_CLOEXEC);
            return r < 0 ? -Libc.errno(st) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Makes an eventfd readable. */
    public static void signal(int eventFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(JAVA_LONG);
            one.set(JAVA_LONG, 0, 1L);
            write(eventFd, one, 8);
        }
    }

    /**
     * Waits until {@code fd} is readable or {@code wake} was signalled: 1 if {@code fd} is readable, 0 if woken,
     * -errno on failure. {@code pollfds} is the caller's 16-byte scratch (two struct pollfd).
     */
    public static int pollIn(int fd, int wake, MemorySegment pollfds) {
        pollfds.set(JAVA_INT, 0, fd);
        pollfds.set(JAVA_SHORT, 4, POLLIN);
        pollfds.set(JAVA_SHORT, 6, (short) 0);
        pollfds.set(JAVA_INT, 8, wake);
        pollfds.set(JAVA_SHORT, 12, POLLIN);
        pollfds.set(JAVA_SHORT, 14, (short) 0);
        try {
            while (true) {
                MemorySegment st = Libc.state();
                int r = (int) POLL.invokeExact(st, pollfds, 2L, -1);
                if (r < 0) {
                    int e = Libc.errno(st);
                    if (e == Libc.EINTR) continue;
                    return -e;
                }
                if (pollfds.get(JAVA_SHORT, 14) != 0) return 0;
                if (pollfds.get(JAVA_SHORT, 6) != 0) return 1;
            }
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** setns(fd, CLONE_NEWNET) for the calling thread: 0 or errno. */
    public static int setnsNet(int nsFd) {
        try {
            MemorySegment st = Libc.state();
            int r = (int) SETNS.invokeExact(st, nsFd, CLONE_NEWNET);
            return r < 0 ? Libc.errno(st) : 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** unshare(CLONE_NEWNET) for the calling thread: 0 or errno. */
    public static int unshareNet() {
        try {
            MemorySegment st = Libc.state();
            int r = (int) UNSHARE.invokeExact(st, CLONE_NEWNET);
            return r < 0 ? Libc.errno(st) : 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** strerror's text for the errnos a network device meets, for one-line messages. */
    public static String strerror(int errno) {
        return switch (errno) {
            case EPERM -> "Operation not permitted";
            case 2 -> "No such file or directory";
            case 13 -> "Permission denied";
            case EBUSY -> "Device or resource busy";
            case 19 -> "No such device";
            case 22 -> "Invalid argument";
            default -> "errno " + errno;
        };
    }
}
