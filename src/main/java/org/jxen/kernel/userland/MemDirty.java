package org.jxen.kernel.userland;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.Workload;
import org.jxen.kernel.ModuleParameters;
import org.jxen.kernel.UnknownParameterException;

/**
 * A guest that uses its memory, for {@code bench migrate}: {@code insmod memdirty mib=N pages_per_ms=R} takes N MiB
 * of the domain's pages from the kernel's allocator and writes every one of them once (a guest whose memory is
 * in use, as an idle guest's is after it ran for a while), then, with R > 0, keeps rewriting R pages a
 * millisecond, round-robin (a guest writing while a live migration runs). Prints {@code memdirty: filled N pages}.
 * It freezes at suspend like any task; a restored kernel loads it again, which fills a fresh set of pages.
 */
public final class MemDirty implements Workload {
    public static final String NAME = "memdirty";

    private int mib = 16;
    private int pagesPerMs;
    private final List<MemorySegment> pages = new ArrayList<>();
    /** The page being written (by the one thread that writes). */
    private MemorySegment writing;
    private volatile boolean stop;
    private final Object lock = new Object();
    private boolean freezing;
    private boolean parked;
    private Thread thread;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void parameter(String key, String value) {
        switch (key) {
            case "mib" -> mib = ModuleParameters.uint(value, 1, 1 << 20);
            case "pages_per_ms" -> pagesPerMs = ModuleParameters.uint(value, 0, 1 << 20);
            default -> throw new UnknownParameterException(key);
        }
    }

    @Override
    public void init(Kernel kernel) {
        int n = mib * 256;
        thread = Thread.ofPlatform().daemon().name("d" + kernel.domid() + "-" + NAME).start(() -> run(kernel, n));
    }

    private void run(Kernel kernel, int n) {
        try {
            dirty(kernel, n);
        } catch (IllegalStateException e) {
            // The domain was destroyed under us (an in-process guest's memory goes with it, as a VM's vCPUs stop
            // where they are): nothing is left to write. Anything else is a bug, and says so.
            MemorySegment last = writing;
            if (last == null || last.scope().isAlive()) throw e;
        }
    }

    private void dirty(Kernel kernel, int n) {
        long stamp = System.nanoTime();
        for (int i = 0; i < n && safePoint(); i++) {
            MemorySegment p;
            try {
                p = kernel.allocPage();
            } catch (java.io.UncheckedIOException full) { // ENOMEM: the domain has no free frame left
                kernel.printk(NAME + ": out of memory after " + i + " pages");
                break;
            }
            writing = p;
            fill(p, stamp + i);
            pages.add(p);
        }
        kernel.printk(NAME + ": filled " + pages.size() + " pages");
        if (pagesPerMs == 0 || pages.isEmpty()) return;
        int next = 0;
        while (safePoint()) {
            for (int i = 0; i < pagesPerMs; i++) {
                writing = pages.get(next);
                fill(writing, System.nanoTime());
                next = (next + 1) % pages.size();
            }
            try {
                TimeUnit.MILLISECONDS.sleep(1);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The refrigerator: parks while frozen; false once stopping. */
    private boolean safePoint() {
        synchronized (lock) {
            while (freezing && !stop) {
                parked = true;
                lock.notifyAll();
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    return false;
                }
            }
            parked = false;
            return !stop;
        }
    }

    @Override
    public boolean freeze(java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            freezing = true;
            while (!parked && thread.isAlive()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
            return true;
        }
    }

    @Override
    public void thaw() {
        synchronized (lock) {
            freezing = false;
            lock.notifyAll();
        }
    }

    @Override
    public void abandon() {
        synchronized (lock) {
            stop = true;
            lock.notifyAll();
        }
    }

    /** Writes every 8 bytes of the page (a value that differs per page and per pass). */
    private static void fill(MemorySegment page, long value) {
        for (long off = 0; off < page.byteSize(); off += 8) page.set(ValueLayout.JAVA_LONG_UNALIGNED, off, value + off);
    }

    @Override
    public void exit(Kernel kernel) throws InterruptedException {
        abandon();
        thread.join(10_000);
        for (MemorySegment p : pages) kernel.freePage(p);
        pages.clear();
    }
}
