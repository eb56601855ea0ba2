package org.jxen.toolstack.migration;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jxen.toolstack.Host;

/**
 * A host's migration listener ({@code jxen host --migrate-listen PORT}; xl's {@code migrate-receive}, which
 * xl runs over ssh): one incoming migration per connection, handled as {@link MigrationProtocol} says. Its
 * address is written to {@code <run-dir>/migrate.addr} (ADDRESS:PORT), where {@code xl migrate DOM DIR} finds it,
 * and removed when the listener closes. Anyone who can connect can send it a domain, as anyone who can run
 * {@code ssh host xl migrate-receive} can: listen on loopback or a trusted network only.
 */
public final class MigrationListener implements AutoCloseable {
    public static final String ADDRESS_FILE = "migrate.addr";
    private static final Logger LOG = System.getLogger("jxen.migration");

    private final Host host;
    private final ServerSocket server;
    private final Path addressFile;
    private final Thread acceptor;
    /** Incoming migrations at once: each holds a domain being built and its stream's buffers. */
    static final int MAX_INCOMING = 4;
    private final java.util.concurrent.Semaphore incoming = new java.util.concurrent.Semaphore(MAX_INCOMING);

    private MigrationListener(Host host, InetSocketAddress bind) throws IOException {
        this.host = host;
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.setReceiveBufferSize(Migration.SOCKET_BUFFER);
        server.bind(bind);
        InetAddress a = server.getInetAddress();
        String shown = a.isAnyLocalAddress() ? InetAddress.getLoopbackAddress().getHostAddress() : a.getHostAddress();
        addressFile = host.runDir().resolve(ADDRESS_FILE);
        Files.writeString(addressFile, shown + ":" + server.getLocalPort() + "\n");
        acceptor = Thread.ofPlatform().daemon().name("migrate-listen").start(this::acceptLoop);
        host.dom0Kernel().printk("toolstack: migration listener on " + server.getLocalSocketAddress());
    }

    /** Listens on {@code bind} (port 0: any free port). */
    public static MigrationListener start(Host host, InetSocketAddress bind) throws IOException {
        return new MigrationListener(host, bind);
    }

    public int port() {
        return server.getLocalPort();
    }

    /** The address written to {@code migrate.addr}. */
    public InetSocketAddress address() {
        InetAddress a = server.getInetAddress();
        return new InetSocketAddress(a.isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : a, server.getLocalPort());
    }

    /** ADDRESS:PORT of a host's listener from its run directory, or null if it has none. */
    public static InetSocketAddress of(Path runDir) throws IOException {
        Path f = runDir.resolve(ADDRESS_FILE);
        if (!Files.exists(f)) return null;
        return parse(Files.readString(f, StandardCharsets.UTF_8).strip());
    }

    /** ADDRESS:PORT (an IPv6 address in brackets); IllegalArgumentException naming what is wrong. */
    public static InetSocketAddress parse(String target) {
        int colon = target.lastIndexOf(':');
        if (colon <= 0) throw new IllegalArgumentException("migration target " + target + " is neither a run directory nor ADDRESS:PORT");
        String host = target.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port;
        try {
            port = Integer.parseInt(target.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad port in migration target " + target);
        }
        if (port <= 0 || port > 65535) throw new IllegalArgumentException("bad port in migration target " + target);
        return new InetSocketAddress(host, port);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                if (!incoming.tryAcquire()) {
                    refuseBusy(s);
                    continue;
                }
                Thread.ofVirtual().name("migrate-receive").start(() -> {
                    try {
                        receive(s);
                    } finally {
                        incoming.release();
                    }
                });
            } catch (IOException e) {
                if (!server.isClosed()) LOG.log(Level.WARNING, "migration accept: {0}", e.toString());
            }
        }
    }

    private static void refuseBusy(Socket s) {
        try (s) {
            OutputStream out = s.getOutputStream();
            MigrationProtocol.send(out, MigrationProtocol.ERROR + "the target is receiving " + MAX_INCOMING
                    + " migrations already; try again later");
        } catch (IOException e) {
            // it went away
        }
    }

    private void receive(Socket s) {
        boolean[] cleared = {false};
        try (s) {
            s.setSoTimeout((int) Migration.STEP_TIMEOUT.toMillis());
            s.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(s.getInputStream(), 1 << 20);
            OutputStream out = new BufferedOutputStream(s.getOutputStream());
            MigrationProtocol.send(out, MigrationProtocol.BANNER);
            try {
                Host.Guest g = DomainReceiver.receive(host, in, false, domid -> {
                    MigrationProtocol.send(out, MigrationProtocol.READY);
                    MigrationProtocol.expect(in, MigrationProtocol.GO);
                    cleared[0] = true;
                });
                out.write((MigrationProtocol.RESULT + "\n").getBytes(StandardCharsets.UTF_8));
                out.write(0);
                out.flush();
                host.dom0Kernel().printk("toolstack: migration target: domain " + g.domid() + " (" + g.name()
                        + ") received from " + s.getRemoteSocketAddress() + " and started");
            } catch (Exception e) {
                String why = e.getMessage() != null ? e.getMessage() : e.toString();
                host.dom0Kernel().printk("toolstack: migration target: incoming domain from " + s.getRemoteSocketAddress()
                        + " abandoned: " + why);
                if (e instanceof InterruptedException) Thread.currentThread().interrupt();
                try {
                    if (cleared[0]) {
                        out.write((MigrationProtocol.RESULT + "\n").getBytes(StandardCharsets.UTF_8));
                        out.write(1);
                        out.flush();
                    } else {
                        MigrationProtocol.send(out, MigrationProtocol.ERROR + why);
                        drain(s, in);
                    }
                } catch (IOException gone) {
                    // the source went away: it resumes its copy, or it is gone with its host
                }
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "migration connection: {0}", e.toString());
        }
    }

    /**
     * After a refusal: what the source still sends is read and dropped until it hangs up (it stops at its next
     * batch), so that closing does not reset the connection and lose the ERROR line in flight.
     */
    private static void drain(Socket s, InputStream in) {
        try {
            s.shutdownOutput();
            s.setSoTimeout(10_000);
            byte[] buf = new byte[1 << 16];
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            while (in.read(buf) >= 0 && System.nanoTime() < deadline) {
                // dropped
            }
        } catch (IOException e) {
            // it went away
        }
    }

    @Override
    public void close() {
        try {
            server.close();
            acceptor.join(5000);
            Files.deleteIfExists(addressFile);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing the migration listener: {0}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
