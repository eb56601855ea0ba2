package org.jxen.drivers.net;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jxen.kernel.NetNamespace;
import org.jxen.libc.Libc;
import org.jxen.libc.Tun;

/**
 * A TAP device (IFF_TAP | IFF_NO_PI) as a {@link NetLink}: frames the stack sends through it are read on a
 * platform thread of its own (blocked in poll with an eventfd, so {@link #close} can stop it), frames for the
 * stack are written to it. The device lives in the network namespace of the thread that created it: dom0's
 * {@code vifD.N} in the host's, a guest's {@code eth0} in the guest's ({@link #in}). Closing the last descriptor
 * removes a non-persistent TAP device, as unregister_netdev does for netback's.
 */
public final class TapLink implements NetLink {
    /** The largest frame read: a 64 KiB packet and its Ethernet header (jumbo MTUs included). */
    static final int MAX_FRAME = 65536 + 64;

    private final String name;
    private final int fd;
    private final int wake;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buf = arena.allocate(MAX_FRAME, 64);
    private final Object writeLock = new Object();
    private Thread reader;
    private volatile boolean closed;

    private TapLink(String name, int fd) throws IOException {
        this.name = name;
        this.fd = fd;
        this.wake = Tun.eventfd();
        if (wake < 0) {
            Libc.close(fd);
            throw new IOException(name + ": eventfd: " + Tun.strerror(-wake));
        }
    }

    /** TAP devices in the calling thread's network namespace (dom0's: the host's). */
    public static NetLink.Factory host() {
        return (name, mac) -> create(name, mac, () -> Tun.openTap(name));
    }

    /** TAP devices in {@code ns} (a guest's). */
    public static NetLink.Factory in(NetNamespace ns) {
        return (name, mac) -> create(name, mac, () -> ns.inside(() -> Tun.openTap(name)));
    }

    private interface Opener {
        int open() throws IOException;
    }

    private static TapLink create(String name, byte[] mac, Opener opener) throws IOException {
        int fd = opener.open();
        if (fd < 0) {
            String hint = -fd == Tun.EPERM ? " (needs CAP_NET_ADMIN)" : "";
            throw new IOException("creating TAP device " + name + ": " + Tun.strerror(-fd) + hint);
        }
        if (mac != null) {
            int rc = Tun.setMac(fd, mac);
            if (rc != 0) {
                Libc.close(fd);
                throw new IOException("setting the address of " + name + ": " + Tun.strerror(rc));
            }
        }
        return new TapLink(name, fd);
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * One write per frame. A TAP device that is down refuses frames (EIO): that is a frame the stack did not take,
     * as a packet sent to a device without carrier, and it is dropped silently.
     */
    @Override
    public void transmit(MemorySegment frame) throws IOException {
        synchronized (writeLock) {
            if (closed) return;
            long n = Tun.write(fd, frame, frame.byteSize());
            if (n < 0 && -n != 5 && -n != Tun.EAGAIN) throw new IOException(name + ": write: " + Tun.strerror((int) -n));
        }
    }

    @Override
    public synchronized void start(FrameHandler handler) {
        if (reader != null || closed) return;
        reader = Thread.ofPlatform().daemon().name(name + "-rx").start(() -> readLoop(handler));
    }

    private void readLoop(FrameHandler handler) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pollfds = a.allocate(16, 8);
            while (true) {
                int r = Tun.pollIn(fd, wake, pollfds);
                if (r <= 0) return; // woken to stop, or poll failed
                long n = Tun.read(fd, buf, MAX_FRAME);
                if (n == -Libc.EINTR || n == -Tun.EAGAIN) continue;
                if (n <= 0) return;
                handler.frame(buf.asSlice(0, n));
            }
        }
    }

    @Override
    public void close() {
        Thread r;
        synchronized (this) {
            if (closed) return;
            closed = true;
            r = reader;
        }
        Tun.signal(wake);
        if (r != null && r != Thread.currentThread()) {
            try {
                r.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (writeLock) {
            Libc.close(fd);
        }
        Libc.close(wake);
        arena.close();
    }
}
