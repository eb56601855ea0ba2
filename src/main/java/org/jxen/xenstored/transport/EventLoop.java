package org.jxen.xenstored.transport;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The one thread that owns xenstored's state, as in the C daemon: it waits on a {@link Selector}, runs tasks
 * other threads post, and flushes connections that have output at the end of each round, so replies to a
 * burst of pipelined requests leave in one write.
 */
public final class EventLoop implements Executor, AutoCloseable {
    private static final Logger LOG = System.getLogger("jxen.xenstored");

    /** Something the loop calls back for a ready key. */
    public interface Handler {
        void ready(SelectionKey key) throws IOException;

        /** An I/O error or protocol violation: drop this peer only. */
        void failed(Exception e);
    }

    /** Something with output to push after the current round. */
    public abstract static class Flushable {
        /** Whether it is in the loop's list for this round (the loop keeps it there once); loop thread only. */
        boolean queued;

        public abstract void flush();
    }

    private final Selector selector;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    /** Flushables marked this round, each once (its queued flag), in order; swapped with flushing. */
    private ArrayList<Flushable> dirty = new ArrayList<>();
    private ArrayList<Flushable> flushing = new ArrayList<>();
    /** Bound once: select(Consumer) hands ready keys straight here, without the selected-key set. */
    private final java.util.function.Consumer<SelectionKey> dispatch = this::dispatch;
    private final List<Runnable> idleHooks = new ArrayList<>();
    /** An array, not a list: every connection's flush calls them, and C1 makes an iterator a real object. */
    private Runnable[] outputBarriers = {};
    private volatile boolean running = true;
    /** Where socket connections read into, one after another on this thread (see SocketConnection). */
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
    /** Where socket connections encode their replies to write them, one after another on this thread. */
    private final ByteBuffer writeBuffer = ByteBuffer.allocateDirect(64 * 1024).order(java.nio.ByteOrder.LITTLE_ENDIAN);

    public EventLoop(String name) throws IOException {
        selector = Selector.open();
        thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this::run);
    }

    public void start() {
        thread.start();
    }

    /** The loop's read buffer, empty between uses; loop thread only. */
    public ByteBuffer readBuffer() {
        return readBuffer;
    }

    /** Bytes copied off guest rings, decoded before the copy returns; one array for every ring. */
    private final byte[] scratch = new byte[4096];

    /** The loop's scratch array, for use within one call on the loop thread. */
    public byte[] scratch() {
        return scratch;
    }

    /** The loop's write buffer, for use within one call on the loop thread. */
    public ByteBuffer writeBuffer() {
        return writeBuffer;
    }

    public Selector selector() {
        return selector;
    }

    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    @Override
    public void execute(Runnable task) {
        tasks.add(task);
        if (!inLoop() && wakeupPending.compareAndSet(false, true)) selector.wakeup();
    }

    /** Runs {@code task} on the loop and waits for its result (for tools, tests and shutdown). */
    public <T> T call(Supplier<T> task) {
        if (inLoop()) return task.get();
        CompletableFuture<T> f = new CompletableFuture<>();
        execute(() -> {
            try {
                f.complete(task.get());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        try {
            // A loop that stops never runs the task: don't wait for it forever.
            while (true) {
                try {
                    return f.get(100, java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    if (!running) throw new IllegalStateException("the event loop has stopped");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Schedules a flush at the end of this round (loop thread only). */
    public void markDirty(Flushable f) {
        if (f.queued) return;
        f.queued = true;
        dirty.add(f);
    }

    /**
     * Runs {@code hook} before any reply leaves the daemon: transports call {@link #outputBarrier} before they
     * hand output to a peer, and the journal writes what the round changed there (loop thread only).
     */
    public void onOutputBarrier(Runnable hook) {
        outputBarriers = java.util.Arrays.copyOf(outputBarriers, outputBarriers.length + 1);
        outputBarriers[outputBarriers.length - 1] = hook;
    }

    /** Called by a transport before it writes replies; cheap when there is nothing to make durable. */
    public void outputBarrier() {
        Runnable[] bs = outputBarriers;
        for (int i = 0; i < bs.length; i++) bs[i].run();
    }

    /** Runs when a round ends with nothing left to do (loop thread only). */
    public void onIdle(Runnable hook) {
        idleHooks.add(hook);
    }

    private void run() {
        try {
            while (running) {
                selector.select(dispatch);
                if (wakeupPending.get()) wakeupPending.set(false);
                drain();
            }
        } catch (ClosedSelectorException e) {
            // close() raced with select(): we are done.
        } catch (IOException e) {
            LOG.log(Level.ERROR, "event loop failed", e);
        } finally {
            running = false;
        }
    }

    private void dispatch(SelectionKey key) {
        Handler h = (Handler) key.attachment();
        try {
            if (key.isValid()) h.ready(key);
        } catch (IOException | RuntimeException e) {
            h.failed(e);
        }
    }

    private void drain() {
        do {
            Runnable t;
            while ((t = tasks.poll()) != null) {
                try {
                    t.run();
                } catch (RuntimeException e) {
                    LOG.log(Level.ERROR, "task failed", e);
                }
            }
            while (!dirty.isEmpty()) {
                // Flushing can mark more (a reply's watch events to other connections): those go in the next pass.
                ArrayList<Flushable> now = dirty;
                dirty = flushing;
                flushing = now;
                for (int i = 0; i < now.size(); i++) {
                    Flushable f = now.get(i);
                    f.queued = false;
                    f.flush();
                }
                now.clear();
            }
        } while (!tasks.isEmpty());
        for (Runnable r : idleHooks) r.run();
    }

    @Override
    public void close() {
        if (!running) return;
        if (inLoop()) {
            running = false;
        } else {
            execute(() -> running = false);
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            selector.close();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "closing selector", e);
        }
    }
}
