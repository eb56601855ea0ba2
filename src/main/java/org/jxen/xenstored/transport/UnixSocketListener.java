package org.jxen.xenstored.transport;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jxen.xenstored.engine.XenStoreEngine;

/** Accepts Unix-socket clients on the event loop. Removes the socket file when closed. */
public final class UnixSocketListener implements EventLoop.Handler, AutoCloseable {
    private static final Logger LOG = System.getLogger("jxen.xenstored");

    private final EventLoop loop;
    private final XenStoreEngine engine;
    private final Path path;
    private final ServerSocketChannel server;

    public UnixSocketListener(EventLoop loop, XenStoreEngine engine, Path path) throws IOException {
        this.loop = loop;
        this.engine = engine;
        this.path = path;
        if (path.getParent() != null) Files.createDirectories(path.getParent());
        removeStale(path);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path), 128);
        server.configureBlocking(false);
    }

    /** A socket file nobody answers on is left over from a dead daemon; one that answers is a live daemon. */
    private static void removeStale(Path path) throws IOException {
        if (!Files.exists(path)) return;
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new IOException("a xenstored is already listening on " + path);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("a xenstored")) throw e;
            Files.deleteIfExists(path);
        }
    }

    /** Registers with the loop; call on the loop thread. */
    public void register() throws IOException {
        server.register(loop.selector(), SelectionKey.OP_ACCEPT, this);
    }

    public Path path() {
        return path;
    }

    @Override
    public void ready(SelectionKey key) throws IOException {
        SocketChannel ch;
        while ((ch = server.accept()) != null) {
            try {
                new SocketConnection(loop, engine, ch);
            } catch (IOException | OutOfMemoryError e) {
                // Out of heap for one more client: refuse it, keep serving the others (the loop must not die).
                LOG.log(Level.WARNING, "accepting client: {0}", e.toString());
                ch.close();
            }
        }
    }

    @Override
    public void failed(Exception e) {
        LOG.log(Level.ERROR, "listener on " + path + " failed", e);
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "closing listener: {0}", e.toString());
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "removing socket {0}: {1}", path, e.toString());
        }
    }
}
