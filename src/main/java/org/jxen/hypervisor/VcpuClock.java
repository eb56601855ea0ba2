package org.jxen.hypervisor;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The CPU time a domain's vCPU spent in this process, what xl list shows as Time(s) for a domain that runs in
 * the host's JVM: the sum over the domain's platform threads that run guest code (its event thread, the commands
 * of {@link Hypercalls#runOnVcpu}) of the CPU time each used while it did, as the JVM measures it per thread. A
 * virtual thread's CPU time is not measurable on its own (the JVM answers -1): a virtual event thread times each
 * round of deliveries on its carrier's clock instead ({@link #add}); other virtual threads count as none.
 */
public final class VcpuClock {
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    /** Threads in a vCPU section now, with their thread CPU time when they entered it. */
    private final Map<Thread, Long> running = new ConcurrentHashMap<>();
    /** What sections already left used. */
    private final AtomicLong finished = new AtomicLong();

    /** The calling thread starts running guest code. */
    void enter() {
        long now = MX.getCurrentThreadCpuTime();
        if (now >= 0) running.put(Thread.currentThread(), now);
    }

    /** The calling thread stops running guest code: what it used since {@link #enter} is kept. */
    void leave() {
        Long start = running.remove(Thread.currentThread());
        long now = MX.getCurrentThreadCpuTime();
        if (start != null && now >= start) finished.addAndGet(now - start);
    }

    /** A virtual thread's stretch of guest code, timed on its carrier ({@code org.jxen.libc.ThreadClock}). */
    void add(long nanos) {
        if (nanos > 0) finished.addAndGet(nanos);
    }

    /** Nanoseconds of CPU time so far, those of sections still running included. */
    public long nanos() {
        long sum = finished.get();
        for (var e : running.entrySet()) {
            long now = MX.getThreadCpuTime(e.getKey().threadId());
            if (now >= e.getValue()) sum += now - e.getValue();
        }
        return sum;
    }
}
