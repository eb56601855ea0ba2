package org.jxen.drivers.net;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.jxen.kernel.NetNamespace;
import org.jxen.libc.Libc;
import org.jxen.libc.Tun;

/**
 * A TAP device (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) as a {@link NetLink}: frames the stack sends through it are read on a
 * platform thread of its own (blocked in poll with an eventfd, so {@link #close} can stop it), frames for the
 * stack are written to it. The device lives in the network namespace of the thread that created it: dom0's
 * {@code vifD.N} in the host's, a guest's {@code eth0} in the guest's ({@link #in}). Closing the last descriptor
 * removes a non-persistent TAP device, as unregister_netdev does for netback's.
 *
 * <p>Each frame crosses the descriptor behind a struct virtio_net_hdr, which is how a TAP device does checksum
 * offload and GSO ({@link #offloads}: TUNSETOFFLOAD): the stack hands over 64 KiB TCP super-frames with partial
 * checksums and takes them back the same way, as Linux's netback and netfront pass skbs to their net_devices.
 * <pre>
 *  virtio_net_hdr (little-endian): 0 u8 flags (1 NEEDS_CSUM, 2 DATA_VALID)  1 u8 gso_type (0 NONE, 1 TCPV4,
 *  4 TCPV6)  2 u16 hdr_len  4 u16 gso_size  6 u16 csum_start  8 u16 csum_offset
 * </pre>
 */
public final class TapLink implements NetLink {
    /** The largest frame read: a 64 KiB packet and its Ethernet header (jumbo MTUs included). */
    static final int MAX_FRAME = 65536 + 64;
    private static final int HDR = Tun.VNET_HDR_LEN;
    /** The most pieces one writev takes here: a 64 KiB frame in pages at any offset, and then some. */
    private static final int MAX_PIECES = 20;
    private static final int F_NEEDS_CSUM = 1;
    private static final int F_DATA_VALID = 2;
    private static final int GSO_TCPV4 = 1;
    private static final int GSO_TCPV6 = 4;
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String name;
    private final int fd;
    private final int wake;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buf = arena.allocate(HDR + MAX_FRAME, 64);
    // The header and the iovecs of a write (under writeLock).
    private final MemorySegment whdr = arena.allocate(HDR, 8);
    private final MemorySegment iov = arena.allocate((1 + MAX_PIECES) * Libc.IOVEC_SIZE, 8);
    private MemorySegment gather;
    private long unreadable;
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
        return (name, mac) -> create(name, mac, () -> Tun.openTap(name, Tun.IFF_VNET_HDR, true));
    }

    /** TAP devices in {@code ns} (a guest's). */
    public static NetLink.Factory in(NetNamespace ns) {
        return (name, mac) -> create(name, mac, () -> ns.inside(() -> Tun.openTap(name, Tun.IFF_VNET_HDR, true)));
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
     * One writev per frame: its virtio_net_hdr, then the frame. A TAP device that is down refuses frames (EIO):
     * that is a frame the stack did not take, as a packet sent to a device without carrier, and it is dropped
     * silently. A partial checksum that is not TCP/UDP over IP cannot be described and is refused.
     */
    @Override
    public void transmit(MemorySegment frame, int offload) throws IOException {
        transmit(new MemorySegment[] {frame}, 1, offload);
    }

    @Override
    public void transmit(MemorySegment[] pieces, int n, int offload) throws IOException {
        int flags = 0;
        int start = 0;
        int off = 0;
        if (Offload.partial(offload)) {
            int at = Checksums.locate(pieces[0]);
            if (at < 0 && n > 1) { // the headers straddle pieces: gather them first (not seen from netif drivers)
                transmitGathered(pieces, n, offload);
                return;
            }
            if (at < 0) throw new IOException(name + ": a partial checksum in a frame that is not TCP or UDP over IP");
            flags = F_NEEDS_CSUM;
            start = at >>> 16;
            off = at & 0xFFFF;
        } else if (Offload.valid(offload)) {
            flags = F_DATA_VALID;
        }
        if (n > MAX_PIECES) {
            transmitGathered(pieces, n, offload);
            return;
        }
        int gso = switch (Offload.gsoType(offload)) {
            case Netif.GSO_TYPE_TCPV4 -> GSO_TCPV4;
            case Netif.GSO_TYPE_TCPV6 -> GSO_TCPV6;
            default -> 0;
        };
        synchronized (writeLock) {
            if (closed) return;
            whdr.set(ValueLayout.JAVA_BYTE, 0, (byte) flags);
            whdr.set(ValueLayout.JAVA_BYTE, 1, (byte) gso);
            whdr.set(LE16, 2, (short) 0); // hdr_len: the kernel derives it from csum_start
            whdr.set(LE16, 4, (short) (gso == 0 ? 0 : Offload.gsoSize(offload)));
            whdr.set(LE16, 6, (short) start);
            whdr.set(LE16, 8, (short) off);
            iov.set(ValueLayout.ADDRESS, 0, whdr);
            iov.set(ValueLayout.JAVA_LONG, 8, HDR);
            for (int i = 0; i < n; i++) {
                iov.set(ValueLayout.ADDRESS, (i + 1) * Libc.IOVEC_SIZE, pieces[i]);
                iov.set(ValueLayout.JAVA_LONG, (i + 1) * Libc.IOVEC_SIZE + 8, pieces[i].byteSize());
            }
            long w = Tun.writev(fd, iov, n + 1);
            if (w < 0 && -w != 5 && -w != Tun.EAGAIN) throw new IOException(name + ": write: " + Tun.strerror((int) -w));
        }
    }

    private static long length(MemorySegment[] pieces, int n) {
        long len = 0;
        for (int i = 0; i < n; i++) len += pieces[i].byteSize();
        return len;
    }

    /** Copies the pieces into one buffer (the link's, made the first time it is needed) and writes that. */
    private void transmitGathered(MemorySegment[] pieces, int n, int offload) throws IOException {
        long len = length(pieces, n);
        if (len > MAX_FRAME) throw new IOException(name + ": a frame of " + len + " bytes");
        synchronized (writeLock) { // the buffer is shared by the link's writers
            if (closed) return;
            if (gather == null) gather = arena.allocate(MAX_FRAME, 64);
            for (int i = 0, at = 0; i < n; at += (int) pieces[i].byteSize(), i++) {
                MemorySegment.copy(pieces[i], 0, gather, at, pieces[i].byteSize());
            }
            transmit(new MemorySegment[] {gather.asSlice(0, len)}, 1, offload);
        }
    }

    @Override
    public void offloads(boolean csum, boolean tso4, boolean tso6) throws IOException {
        int f = csum ? Tun.TUN_F_CSUM | (tso4 ? Tun.TUN_F_TSO4 : 0) | (tso6 ? Tun.TUN_F_TSO6 : 0) : 0;
        synchronized (writeLock) {
            if (closed) return;
            int rc = Tun.setOffload(fd, f);
            if (rc != 0) throw new IOException(name + ": TUNSETOFFLOAD: " + Tun.strerror(rc));
        }
    }

    /** Frames read whose virtio_net_hdr asked for something netif cannot carry (dropped). */
    public long unreadable() {
        return unreadable;
    }

    @Override
    public synchronized void start(FrameHandler handler) {
        if (reader != null || closed) return;
        reader = Thread.ofPlatform().daemon().name(name + "-rx").start(() -> readLoop(handler));
    }

    private void readLoop(FrameHandler handler) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pollfds = a.allocate(16, 8);
            // The descriptor does not block: frames are read while there are any, then the handler hears that the
            // batch is over, and only then does the thread sleep in poll.
            while (!closed) {
                long n = Tun.read(fd, buf, HDR + MAX_FRAME);
                if (n == -Tun.EAGAIN) {
                    handler.idle();
                    if (Tun.pollIn(fd, wake, pollfds) <= 0) return; // woken to stop, or poll failed
                    continue;
                }
                if (n == -Libc.EINTR) continue;
                if (n <= 0) return;
                if (n <= HDR) continue;
                int offload = offloadOf(buf);
                if (offload < 0) {
                    unreadable++;
                    continue;
                }
                handler.frame(buf.asSlice(HDR, n - HDR), offload);
            }
        }
    }

    /** The frame's {@link Offload} from its virtio_net_hdr, or -1 for a GSO type netif has no name for. */
    private static int offloadOf(MemorySegment h) {
        int flags = h.get(ValueLayout.JAVA_BYTE, 0);
        int gso = switch (h.get(ValueLayout.JAVA_BYTE, 1) & 0xFF) {
            case 0 -> Netif.GSO_TYPE_NONE;
            case GSO_TCPV4 -> Netif.GSO_TYPE_TCPV4;
            case GSO_TCPV6 -> Netif.GSO_TYPE_TCPV6;
            default -> -1; // UDP, ECN: never offered (TUNSETOFFLOAD has neither)
        };
        if (gso < 0) return -1;
        int size = gso == Netif.GSO_TYPE_NONE ? 0 : Short.toUnsignedInt(h.get(LE16, 4));
        return Offload.of((flags & F_NEEDS_CSUM) != 0, (flags & F_DATA_VALID) != 0, gso, size);
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
