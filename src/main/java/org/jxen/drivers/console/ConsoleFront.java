package org.jxen.drivers.console;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.ring.ByteRing;
import org.jxen.ring.ConsoleRingLayout;
import org.jxen.ring.RingIndexException;
import org.jxen.kernel.KernelLog;
import org.jxen.kernel.Terminal;

/**
 * The guest's console (Linux's hvc_xen): every kernel log line, plus '\n', goes to the {@code out} ring of the
 * console page the domain builder set up (frame {@link DomainLayout#CONSOLE_FRAME}), followed by a notification
 * on the console port. printk may run on any thread, the event thread included, so lines are queued and a
 * writer thread of its own copies them: when the ring is full it sleeps until xenconsoled's notification that it
 * consumed some, which it could not do on the event thread that delivers that very notification. Nothing is
 * dropped.
 *
 * <p>It is a {@link Terminal} too: bytes written go out in order with the log lines, and on each notification
 * the {@code in} ring (what xenconsoled wrote: the keys typed in {@code xl console}) is read, handed to the
 * reader, and the back end is notified that there is room again, as hvc_xen's domU_read_console does.
 */
public final class ConsoleFront implements AutoCloseable, Terminal {
    private static final byte[] STOP = new byte[0];

    private final Hypercalls hc;
    private final int port;
    private final ByteRing out;
    private final ByteRing in;
    private volatile Consumer<byte[]> input;
    private final LinkedBlockingQueue<byte[]> queue = new LinkedBlockingQueue<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition kicked = lock.newCondition();
    /** Bumped on every notification from the back end, and when the writer finishes a chunk. */
    private long generation;
    private long queued;
    private long written;
    private final Consumer<String> sink = this::enqueue;
    private final KernelLog log;
    private final Thread writer;

    private ConsoleFront(Hypercalls hc, KernelLog log) {
        this.hc = hc;
        this.log = log;
        this.port = hc.layout().consolePort();
        ConsoleRingLayout page = new ConsoleRingLayout(hc.frame(DomainLayout.CONSOLE_FRAME));
        this.out = page.out();
        this.in = page.in();
        // Virtual: it only waits for lines and ring space, and in-process guests are many.
        this.writer = Thread.ofVirtual().name("d" + hc.domid() + "-hvc0").unstarted(this::writeLoop);
    }

    /** Starts carrying {@code log}'s lines, those already printed first. */
    public static ConsoleFront attach(Hypercalls hc, KernelLog log) {
        ConsoleFront c = new ConsoleFront(hc, log);
        hc.onEvent(c.port, p -> {
            c.kick();
            c.readInput();
        });
        log.addSink(c.sink);
        c.writer.start();
        return c;
    }

    private void enqueue(String line) {
        write((line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void write(byte[] bytes) {
        lock.lock();
        try {
            queued++;
        } finally {
            lock.unlock();
        }
        queue.add(bytes);
    }

    @Override
    public void onInput(Consumer<byte[]> reader) {
        this.input = reader;
        // What was typed before anyone read is in the ring still.
        if (reader != null) readInput();
    }

    /**
     * Moves what is in the {@code in} ring to the reader. Runs on the event thread and from onInput, so it is
     * serialised; with no reader the bytes wait in the ring (xenconsoled then holds the rest).
     */
    private synchronized void readInput() {
        Consumer<byte[]> reader = input;
        if (reader == null) return;
        byte[] buf = new byte[ConsoleRingLayout.IN_SIZE];
        boolean any = false;
        try {
            int n;
            while ((n = in.read(buf, 0, buf.length)) > 0) {
                reader.accept(java.util.Arrays.copyOf(buf, n));
                any = true;
            }
        } catch (RingIndexException e) {
            // Indices the back end left inconsistent: nothing to read, as hvc_xen's sanity check.
        }
        if (any) notifyBackend();
    }

    private void kick() {
        lock.lock();
        try {
            generation++;
            kicked.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void writeLoop() {
        try {
            while (true) {
                byte[] line = queue.take();
                if (line == STOP) return;
                writeFully(line);
                lock.lock();
                try {
                    written++;
                    kicked.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void writeFully(byte[] bytes) throws InterruptedException {
        int off = 0;
        while (off < bytes.length) {
            long seen = generation();
            int n = writeSome(bytes, off);
            if (n > 0) {
                off += n;
                notifyBackend();
                continue;
            }
            // Full: wait for the back end to consume. The generation was read before the attempt, so a
            // notification that came in between is not missed.
            lock.lock();
            try {
                while (generation == seen) kicked.await();
            } finally {
                lock.unlock();
            }
        }
    }

    /** What fits now; indices the back end left inconsistent count as a full ring, as hvc_xen's do. */
    private int writeSome(byte[] bytes, int off) {
        try {
            return out.write(bytes, off, bytes.length - off);
        } catch (RingIndexException e) {
            return 0;
        }
    }

    private boolean ringDrained() {
        try {
            return out.used() == 0;
        } catch (RingIndexException e) {
            return true; // nothing the back end could still consume
        }
    }

    private long generation() {
        lock.lock();
        try {
            return generation;
        } finally {
            lock.unlock();
        }
    }

    private void notifyBackend() {
        try {
            hc.send(port);
        } catch (HypercallException e) {
            // Only when the domain is being torn down; the bytes stay in the ring.
            System.getLogger("jxen.console").log(System.Logger.Level.DEBUG, "notify console: " + e);
        }
    }

    /**
     * Waits until every line printed so far is in the ring and the back end consumed it, or {@code timeoutMs}
     * passed (no back end is attached); the kernel calls this before it shuts the domain down.
     */
    public boolean flush(long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        lock.lock();
        try {
            while (written < queued || !ringDrained()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                kicked.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        log.removeSink(sink);
        input = null;
        // After flush() whatever is still queued has no back end to go to; a full ring would block the writer.
        queue.add(STOP);
        writer.interrupt();
        hc.onEvent(port, null);
        try {
            writer.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
