package org.jxen.xenstored;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import org.jxen.ring.RingNotifier;
import org.jxen.xenstore.XsChannel;
import org.jxen.xenstored.engine.DomainHooks;
import org.jxen.xenstored.engine.FileTracer;
import org.jxen.xenstored.engine.LogSwitch;
import org.jxen.xenstored.engine.XenStoreEngine;
import org.jxen.xenstored.transport.EventLoop;
import org.jxen.xenstored.transport.InProcessConnection;
import org.jxen.xenstored.transport.RingConnection;
import org.jxen.xenstored.transport.UnixSocketListener;

/**
 * A running xenstored: the engine on its event loop, listening on a Unix socket, with in-process connections
 * on request. {@link #close} stops the loop and removes the socket.
 */
public final class XenStoredServer implements AutoCloseable {
    /**
     * Where to listen, and where to trace (null: no trace); the directories of both are made if missing. With a
     * {@code stateDir}, the store is recovered from it at start and every change is journaled there (docs/xenstored.md,
     * Durability); {@code fsync} adds an fsync per loop round; a journal past {@code snapshotBytes} is folded into
     * a snapshot; {@code journalIo} is how the journal reaches the kernel (a shared mapping by default).
     */
    public record Options(Path socket, Path trace, Path stateDir, boolean fsync, long snapshotBytes,
                          org.jxen.xenstored.state.Journal.Io journalIo) {
        public static final long DEFAULT_SNAPSHOT_BYTES = 8L << 20;

        public Options(Path socket, Path trace) {
            this(socket, trace, null, false, DEFAULT_SNAPSHOT_BYTES, org.jxen.xenstored.state.Journal.Io.MMAP);
        }

        public Options(Path socket, Path trace, Path stateDir, boolean fsync, long snapshotBytes) {
            this(socket, trace, stateDir, fsync, snapshotBytes, org.jxen.xenstored.state.Journal.Io.MMAP);
        }
    }

    private static final System.Logger LOG = System.getLogger("jxen.xenstored");

    private final XenStoreEngine engine = new XenStoreEngine();
    private final EventLoop loop;
    private final UnixSocketListener listener;
    private FileTracer tracer;
    private final Options options;
    private volatile org.jxen.xenstored.state.Journal.Recovered recovered;
    /** What to do when the journal cannot be written: replies must not claim what is not durable. */
    private volatile java.util.function.Consumer<IOException> journalFailed =
            e -> LOG.log(System.Logger.Level.ERROR, "xenstored: journal write failed: " + e);

    private XenStoredServer(Options options, boolean accept) throws IOException {
        this.options = options;
        loop = new EventLoop("xenstored");
        if (options.stateDir() != null) {
            recovered = engine.openState(options.stateDir(), options.fsync(), options.journalIo());
            org.jxen.xenstored.state.Journal journal = engine.journal();
            loop.onOutputBarrier(() -> {
                // Every connection's flush passes here; only the first of a round finds batches to write.
                if (!journal.hasPending()) return;
                try {
                    journal.flush();
                } catch (IOException e) {
                    journalFailed.accept(e);
                }
            });
            loop.onIdle(() -> {
                var j = engine.journal();
                if (j == null || j.size() < options.snapshotBytes()) return;
                try {
                    engine.startSnapshot();
                } catch (IOException e) {
                    journalFailed.accept(e);
                }
            });
        }
        if (options.trace() != null) {
            // As for the socket: `jxen xenstored --socket /tmp/xs/socket --trace /tmp/xs/trace` on a fresh machine.
            Path dir = options.trace().toAbsolutePath().getParent();
            if (dir != null) Files.createDirectories(dir);
            traceTo(options.trace());
        }
        loop.onIdle(() -> engine.tracer().flush());
        engine.setLogSwitch(new LogSwitch() {
            @Override
            public void enable(boolean on) {
                if (tracer != null) tracer.setEnabled(on);
            }

            @Override
            public void setFile(Path file) throws IOException {
                traceTo(file);
            }
        });
        listener = options.socket() == null ? null : new UnixSocketListener(loop, engine, options.socket());
        if (listener != null && accept) listener.register();
        loop.start();
    }

    /** Starts (or moves) the trace to {@code file}; CONTROL {@code logfile} lands here too. */
    private void traceTo(Path file) throws IOException {
        FileTracer next = new FileTracer(file);
        FileTracer old = tracer;
        tracer = next;
        engine.setTracer(next);
        if (old != null) old.close();
    }

    public static XenStoredServer start(Options options) throws IOException {
        return new XenStoredServer(options, true);
    }

    /**
     * A daemon whose socket is bound but not yet served: clients that connect wait in the backlog until
     * {@link #acceptConnections}, so nothing (an INTRODUCE, say) is handled before the daemon has its domain hooks.
     */
    public static XenStoredServer startHeld(Options options) throws IOException {
        return new XenStoredServer(options, false);
    }

    /** Starts serving the socket of a {@link #startHeld} daemon. */
    public void acceptConnections() throws IOException {
        if (listener == null) return;
        try {
            loop.call(() -> {
                try {
                    listener.register();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                return null;
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** What recovery found in the state directory, or null without one. */
    public org.jxen.xenstored.state.Journal.Recovered recovered() {
        return recovered;
    }

    public Options options() {
        return options;
    }

    /** Where a failed journal write is reported (the daemon process exits, to be restarted and recover). */
    public void onJournalFailure(java.util.function.Consumer<IOException> handler) {
        journalFailed = handler;
    }

    /**
     * After a restart: the domains the recovered state says were introduced get their rings attached again
     * through the domain hooks (set them first); their recovered connections are adopted.
     */
    public void reattachIntroduced() {
        loop.call(() -> {
            engine.reattachIntroduced();
            return null;
        });
    }

    public Path socketPath() {
        return listener == null ? null : listener.path();
    }

    /** A connection as {@code domid} (0 privileged, any other id unprivileged) inside this JVM. */
    public XsChannel connectInProcess(int domid) {
        return InProcessConnection.open(loop, engine, domid);
    }

    /**
     * Serves a guest's mapped xenstore page as {@code domid} (unprivileged: its permissions and quotas apply).
     * {@code notifier} signals the guest's event channel; the host calls {@link RingConnection#notifyFromGuest}
     * when the guest signals, and {@link RingConnection#close} before unmapping the page. May be called from
     * any thread, including from {@link DomainHooks#introduced} (which runs on the event loop).
     */
    public RingConnection attachGuestRing(int domid, MemorySegment page, RingNotifier notifier) {
        return RingConnection.attach(engine, loop, domid, page, notifier);
    }

    /**
     * Where INTRODUCE and RELEASE reach the platform: {@code introduced(domid, gfn, port)} maps the page, binds
     * the event channel and calls {@link #attachGuestRing}; {@code released(domid)} closes the ring and unmaps.
     */
    public void setDomainHooks(DomainHooks hooks) {
        loop.call(() -> {
            engine.setDomainHooks(hooks);
            return null;
        });
    }

    /** The hypervisor reports that a domain died: same cleanup as RELEASE, including {@code @releaseDomain}. */
    public void domainDied(int domid) {
        loop.execute(() -> engine.releaseDomain(domid));
    }

    /** The engine, for code already on the loop thread. */
    XenStoreEngine engineForLoop() {
        return engine;
    }

    /** CONTROL live-update restarts this daemon under a supervisor that understands its exit status. */
    public void enableLiveUpdate() {
        if (options.stateDir() == null) throw new IllegalStateException("live update needs a state directory");
        LiveUpdater l = new LiveUpdater(this, options.stateDir());
        loop.call(() -> {
            engine.setLiveUpdate(l);
            return null;
        });
    }

    /** Runs {@code f} against the engine on the event-loop thread and returns its result. */
    public <T> T onLoop(Function<XenStoreEngine, T> f) {
        return loop.call(() -> f.apply(engine));
    }

    public EventLoop loop() {
        return loop;
    }

    @Override
    public void close() {
        try {
            loop.call(() -> {
                engine.closeVolatileConnections();
                return null;
            });
        } catch (IllegalStateException stopped) {
            // The loop is gone already.
        }
        if (options.stateDir() != null) {
            try {
                loop.call(() -> {
                    try {
                        engine.flushState();
                    } catch (IOException e) {
                        journalFailed.accept(e);
                    }
                    return null;
                });
            } catch (IllegalStateException stopped) {
                // The loop is gone already; what it wrote is what there is.
            }
        }
        loop.close();
        var j = engine.journal();
        if (j != null) {
            try {
                j.close();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "closing journal: " + e);
            }
        }
        if (listener != null) listener.close();
        if (tracer != null) {
            try {
                tracer.close();
            } catch (IOException e) {
                System.getLogger("jxen.xenstored").log(System.Logger.Level.WARNING, "closing trace: " + e);
            }
        }
    }
}
