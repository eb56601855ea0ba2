package org.jxen.hypervisor.process;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jxen.hypervisor.ControlPlane;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.MapReply;

/**
 * The host's end of dom0's device socket ({@link Dom0Devices} has the protocol): each session maps grants
 * through dom0's control plane (the process maps the file itself), binds channels on dom0's ports and gets
 * their events forwarded. A session that ends (its process died) has its ports closed, so the guests' ends
 * wait unbound for the next daemon to bind them, and its mappings released.
 */
public final class Dom0DeviceService implements AutoCloseable {
    private final Hypercalls dom0;
    private final ControlPlane control;
    private final ServerSocketChannel server;
    private final Path path;
    private final Thread acceptor;
    private final List<Session> sessions = new CopyOnWriteArrayList<>();
    private final List<LocalDeviceAccess> locals = new CopyOnWriteArrayList<>();

    private Dom0DeviceService(Hypercalls dom0, ControlPlane control, Path path) throws IOException {
        this.dom0 = dom0;
        this.control = control;
        this.path = path;
        Files.deleteIfExists(path);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException | IOException e) {
            // Not a POSIX file system: the run directory's own permissions are what there is.
        }
        acceptor = Thread.ofPlatform().daemon().name("dom0-devices").start(this::accept);
    }

    /** Serves {@code path} with dom0's hypercalls ({@code dom0}) and control plane (grant maps for others). */
    public static Dom0DeviceService start(Hypercalls dom0, ControlPlane control, Path path) throws IOException {
        return new Dom0DeviceService(dom0, control, path);
    }

    public Path path() {
        return path;
    }

    /** VIRQ_DOM_EXC reached dom0: tell every session that asked. */
    public void domainsChanged() {
        for (Session s : sessions) if (s.wantsDomExc) s.event(-1);
        for (LocalDeviceAccess l : locals) l.domainsChanged();
    }

    /** The same devices for a daemon in this process: no socket, dom0's calls made directly. */
    public DeviceAccess local() {
        LocalDeviceAccess[] self = new LocalDeviceAccess[1];
        self[0] = new LocalDeviceAccess(dom0, () -> locals.remove(self[0]));
        locals.add(self[0]);
        return self[0];
    }

    private void accept() {
        while (true) {
            try {
                SocketChannel s = server.accept();
                Session session = new Session(s);
                sessions.add(session);
                Thread.ofPlatform().daemon().name("dom0-devices-session").start(session);
            } catch (ClosedChannelException closed) {
                return;
            } catch (IOException e) {
                System.err.println("dom0-devices: accept failed: " + e);
                return;
            }
        }
    }

    private interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    private final class Session implements Runnable {
        private final SocketChannel socket;
        private final Set<Integer> ports = new HashSet<>();
        private final Set<Integer> handles = new HashSet<>();
        private volatile boolean wantsDomExc;
        /**
         * Events go out from a thread of the session's own, coalesced per port: dom0's event thread only queues,
         * so a daemon that stops reading (stopped, hung) never holds up dom0's other events.
         */
        private final java.util.concurrent.ExecutorService sender =
                java.util.concurrent.Executors.newSingleThreadExecutor(Thread.ofVirtual().name("dom0-devices-events").factory());
        private final Set<Integer> queued = java.util.concurrent.ConcurrentHashMap.newKeySet();

        /** {@code port} -1 is DOM_EXC. */
        void event(int port) {
            if (!queued.add(port)) return;
            try {
                sender.execute(() -> {
                    queued.remove(port);
                    send(out -> {
                        if (port < 0) {
                            out.writeByte(Dom0Devices.DOM_EXC_EVENT);
                        } else {
                            out.writeByte(Dom0Devices.EVENT);
                            out.writeInt(port);
                        }
                    });
                });
            } catch (java.util.concurrent.RejectedExecutionException ended) {
                queued.remove(port);
            }
        }

        Session(SocketChannel socket) {
            this.socket = socket;
        }

        /** One frame, whole (replies from this thread, events from dom0's event thread). */
        synchronized void send(Body body) {
            try {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream(32);
                DataOutputStream d = new DataOutputStream(bytes);
                d.writeInt(0);
                body.write(d);
                d.flush();
                ByteBuffer b = ByteBuffer.wrap(bytes.toByteArray());
                b.putInt(0, b.remaining() - 4);
                while (b.hasRemaining()) socket.write(b);
            } catch (IOException e) {
                // The process went away: run() notices and cleans up.
            }
        }

        @Override
        public void run() {
            try (socket) {
                DataInputStream in = new DataInputStream(Channels.newInputStream(socket));
                while (true) {
                    int len = in.readInt();
                    if (len < 5 || len > Dom0Devices.MAX_FRAME) return;
                    byte[] frame = new byte[len];
                    in.readFully(frame);
                    DataInputStream a = new DataInputStream(new java.io.ByteArrayInputStream(frame));
                    int op = a.readUnsignedByte();
                    int id = a.readInt();
                    if (op == Dom0Devices.NOTIFY) {
                        notify(id);
                        continue;
                    }
                    ByteArrayOutputStream results = new ByteArrayOutputStream();
                    int status = 0;
                    try {
                        dispatch(op, a, new DataOutputStream(results));
                    } catch (HypercallException e) {
                        status = e.errno().code;
                    } catch (GrantException e) {
                        status = e.status().code;
                    } catch (IOException | RuntimeException e) {
                        status = org.jxen.hypervisor.Errno.EINVAL.code;
                    }
                    int st = status;
                    byte[] r = st == 0 ? results.toByteArray() : new byte[0];
                    send(out -> {
                        out.writeByte(Dom0Devices.REPLY);
                        out.writeInt(id);
                        out.writeInt(st);
                        out.write(r);
                    });
                }
            } catch (IOException eof) {
                // The process ended (or spoke nonsense): its session is over.
            } finally {
                end();
            }
        }

        private void notify(int port) {
            synchronized (this) {
                if (!ports.contains(port)) return;
            }
            try {
                dom0.send(port);
            } catch (HypercallException e) {
                // The guest's end closed meanwhile.
            }
        }

        private void dispatch(int op, DataInputStream a, DataOutputStream r)
                throws IOException, HypercallException, GrantException {
            switch (op) {
                case Dom0Devices.MAP -> {
                    MapReply m = control.mapGrant(a.readInt(), a.readInt(), false);
                    synchronized (this) {
                        handles.add(m.handle());
                    }
                    r.writeInt(m.handle());
                    r.writeInt(m.frame());
                    byte[] f = m.file().toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8);
                    r.writeShort(f.length);
                    r.write(f);
                }
                case Dom0Devices.UNMAP -> {
                    int h = a.readInt();
                    synchronized (this) {
                        if (!handles.remove(h)) throw new HypercallException(org.jxen.hypervisor.Errno.EINVAL, "not this session's");
                    }
                    control.unmapGrant(h);
                }
                case Dom0Devices.BIND -> {
                    int local = dom0.bindInterdomain(a.readInt(), a.readInt());
                    synchronized (this) {
                        ports.add(local);
                    }
                    dom0.onEvent(local, this::event);
                    r.writeInt(local);
                }
                case Dom0Devices.UNBIND -> {
                    int p = a.readInt();
                    synchronized (this) {
                        if (!ports.remove(p)) throw new HypercallException(org.jxen.hypervisor.Errno.EINVAL, "not this session's");
                    }
                    dom0.onEvent(p, null);
                    dom0.closePort(p);
                }
                case Dom0Devices.INFO -> {
                    try {
                        DomainInfo i = dom0.domainControl().info(a.readInt());
                        r.writeByte(i.state().ordinal());
                        r.writeInt(i.shutdownReason() == null ? -1 : i.shutdownReason().code);
                    } catch (HypercallException gone) {
                        r.writeByte(Dom0Devices.NO_DOMAIN);
                        r.writeInt(-1);
                    }
                }
                case Dom0Devices.DOM_EXC -> wantsDomExc = true;
                default -> throw new HypercallException(org.jxen.hypervisor.Errno.ENOSYS, "op " + op);
            }
        }

        /** As closing /dev/xen/evtchn and gntdev: every port closed, every mapping released. */
        private void end() {
            sessions.remove(this);
            sender.shutdownNow();
            Set<Integer> p, h;
            synchronized (this) {
                p = Set.copyOf(ports);
                h = Set.copyOf(handles);
                ports.clear();
                handles.clear();
            }
            for (int port : p) {
                dom0.onEvent(port, null);
                try {
                    dom0.closePort(port);
                } catch (HypercallException e) {
                    // Closed already (the guest died).
                }
            }
            for (int handle : h) {
                try {
                    control.unmapGrant(handle);
                } catch (GrantException e) {
                    // Released already.
                }
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close();
            acceptor.join(5000);
            Files.deleteIfExists(path);
        } catch (IOException e) {
            System.err.println("dom0-devices: closing: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Session s : sessions) {
            try {
                s.socket.close();
            } catch (IOException e) {
                // Closing anyway.
            }
        }
    }
}
