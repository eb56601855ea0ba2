package org.jxen.hypervisor.process;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.GrantEntry;
import org.jxen.hypervisor.HypercallException;

/**
 * A dom0 process's end of the device socket ({@link Dom0Devices}): what xenstored uses to reach guests' rings
 * from its own process. Single-threaded (the daemon's event loop): calls block for their reply, events that
 * arrive meanwhile are handed to the listener after it; the socket is non-blocking so the loop can also wait
 * on it with its selector and call {@link #readEvents} when it is readable.
 */
public final class Dom0DeviceClient implements DeviceAccess {
    private final SocketChannel channel;
    private final Selector waiter;
    private final ByteBuffer in = ByteBuffer.allocate(Dom0Devices.MAX_FRAME + 4);
    private final ArrayDeque<int[]> deferred = new ArrayDeque<>();
    private Listener listener = new Listener() {
        @Override
        public void event(int port) {}

        @Override
        public void domainsChanged() {}
    };
    private int nextId = 1;

    private Dom0DeviceClient(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(false);
        waiter = Selector.open();
        channel.register(waiter, SelectionKey.OP_READ);
    }

    public static Dom0DeviceClient connect(Path socket) throws IOException {
        SocketChannel s = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.connect(UnixDomainSocketAddress.of(socket));
            return new Dom0DeviceClient(s);
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    @Override
    public SocketChannel channel() {
        return channel;
    }

    @Override
    public void setListener(Listener l) {
        listener = l;
    }

    // ---- calls ----------------------------------------------------------------------------------------

    /** Maps {@code ref} of {@code domid}'s grant table read-write (gntdev). */
    @Override
    public MappedPage map(int domid, int ref) throws IOException, HypercallException {
        ByteBuffer r = call(Dom0Devices.MAP, domid, ref);
        int handle = r.getInt();
        int frame = r.getInt();
        byte[] f = new byte[r.getShort() & 0xFFFF];
        r.get(f);
        Path file = Path.of(new String(f, StandardCharsets.UTF_8));
        Arena arena = Arena.ofShared();
        try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment page = fc.map(FileChannel.MapMode.READ_WRITE, (long) frame * GrantEntry.PAGE_SIZE,
                    GrantEntry.PAGE_SIZE, arena);
            return new MappedPage(handle, page, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            call(Dom0Devices.UNMAP, handle);
            throw e;
        }
    }

    @Override
    public void unmap(MappedPage p) throws IOException, HypercallException {
        p.arena().close();
        call(Dom0Devices.UNMAP, p.handle());
    }

    /** EVTCHNOP_bind_interdomain on dom0's side; the new port's events come to the listener. */
    @Override
    public int bind(int domid, int port) throws IOException, HypercallException {
        return call(Dom0Devices.BIND, domid, port).getInt();
    }

    @Override
    public void unbind(int port) throws IOException, HypercallException {
        call(Dom0Devices.UNBIND, port);
    }

    /** EVTCHNOP_send on a port this process bound; no reply. */
    @Override
    public void notify(int port) throws IOException {
        write(Dom0Devices.NOTIFY, port);
    }

    @Override
    public Info info(int domid) throws IOException, HypercallException {
        ByteBuffer r = call(Dom0Devices.INFO, domid);
        int state = r.get() & 0xFF;
        int reason = r.getInt();
        return new Info(state == Dom0Devices.NO_DOMAIN ? null : DomainState.values()[state], reason);
    }

    /** From now on VIRQ_DOM_EXC reaches {@link Listener#domainsChanged}. */
    /**
     * INFO requests written a batch at a time, then that batch's replies read: one round trip per batch, not per
     * domain. A batch's requests and replies stay well inside the socket's buffers, so neither end blocks writing
     * while the other writes too.
     */
    @Override
    public java.util.List<Info> infos(java.util.List<Integer> domids) throws IOException {
        Info[] got = new Info[domids.size()];
        for (int from = 0; from < got.length; from += INFO_BATCH) {
            int n = Math.min(INFO_BATCH, got.length - from);
            int first = nextId;
            for (int k = 0; k < n; k++) write(Dom0Devices.INFO, nextId++, domids.get(from + k));
            readInfos(first, got, from, n);
        }
        return java.util.Arrays.asList(got);
    }

    private static final int INFO_BATCH = 256;

    private void readInfos(int firstId, Info[] got, int from, int n) throws IOException {
        int missing = n;
        long deadline = System.nanoTime() + 30_000_000_000L;
        try {
            while (true) {
                ByteBuffer frame;
                while (missing > 0 && (frame = nextFrame()) != null) {
                    int type = frame.get() & 0xFF;
                    if (type != Dom0Devices.REPLY) {
                        defer(type, frame);
                        continue;
                    }
                    int k = frame.getInt() - firstId;
                    if (k < 0 || k >= n || got[from + k] != null) continue;
                    int state = frame.getInt() == 0 ? frame.get() & 0xFF : Dom0Devices.NO_DOMAIN;
                    int reason = frame.remaining() >= 4 ? frame.getInt() : -1;
                    got[from + k] = new Info(state == Dom0Devices.NO_DOMAIN ? null : DomainState.values()[state], reason);
                    missing--;
                }
                if (missing == 0) return;
                awaitMore(deadline);
            }
        } finally {
            dispatchDeferred();
        }
    }

    @Override
    public void watchDomainChanges() throws IOException, HypercallException {
        call(Dom0Devices.DOM_EXC);
    }

    private void write(int op, int... args) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + 4 * args.length);
        b.putInt(1 + 4 * args.length).put((byte) op);
        for (int a : args) b.putInt(a);
        b.flip();
        while (b.hasRemaining()) {
            if (channel.write(b) == 0) Thread.onSpinWait();
        }
    }

    private ByteBuffer call(int op, int... args) throws IOException, HypercallException {
        int id = nextId++;
        int[] withId = new int[args.length + 1];
        withId[0] = id;
        System.arraycopy(args, 0, withId, 1, args.length);
        write(op, withId);
        long deadline = System.nanoTime() + 30_000_000_000L;
        try {
            while (true) {
                ByteBuffer frame;
                while ((frame = nextFrame()) != null) {
                    int type = frame.get() & 0xFF;
                    if (type == Dom0Devices.REPLY && frame.getInt() == id) {
                        int status = frame.getInt();
                        if (status != 0) {
                            throw new HypercallException(status > 0 ? Errno.of(status) : Errno.EINVAL,
                                    "dom0 device op " + op + (status < 0 ? " (GNTST " + status + ")" : ""));
                        }
                        return frame;
                    }
                    defer(type, frame);
                }
                awaitMore(deadline);
            }
        } finally {
            dispatchDeferred();
        }
    }

    /** Waits (until {@code deadline}) for more of the host's frames and reads what came. */
    private void awaitMore(long deadline) throws IOException {
        if (System.nanoTime() > deadline) throw new IOException("dom0 device socket: no reply in 30 s");
        waiter.select(1000);
        waiter.selectedKeys().clear();
        if (fill() < 0) throw new IOException("dom0 device socket closed by the host");
    }

    private void defer(int type, ByteBuffer frame) {
        if (type == Dom0Devices.EVENT) deferred.add(new int[] {type, frame.getInt()});
        else if (type == Dom0Devices.DOM_EXC_EVENT) deferred.add(new int[] {type, 0});
    }

    private void dispatchDeferred() {
        int[] e;
        while ((e = deferred.poll()) != null) {
            if (e[0] == Dom0Devices.EVENT) listener.event(e[1]);
            else listener.domainsChanged();
        }
    }

    /** The socket is readable: hands every event that arrived to the listener. EOF: the host is gone. */
    @Override
    public void readEvents() throws IOException {
        if (fill() < 0) throw new IOException("dom0 device socket closed by the host");
        ByteBuffer frame;
        while ((frame = nextFrame()) != null) defer(frame.get() & 0xFF, frame);
        dispatchDeferred();
    }

    private int fill() throws IOException {
        return channel.read(in);
    }

    /** The next whole frame in the input buffer, or null. */
    private ByteBuffer nextFrame() throws IOException {
        in.flip();
        try {
            if (in.remaining() < 4) return null;
            int len = in.getInt(in.position());
            if (len < 1 || len > Dom0Devices.MAX_FRAME) throw new IOException("dom0 device socket: bad frame length " + len);
            if (in.remaining() < 4 + len) return null;
            byte[] body = new byte[len];
            in.position(in.position() + 4);
            in.get(body);
            return ByteBuffer.wrap(body);
        } finally {
            in.compact();
        }
    }

    @Override
    public void close() throws IOException {
        waiter.close();
        channel.close();
    }
}
