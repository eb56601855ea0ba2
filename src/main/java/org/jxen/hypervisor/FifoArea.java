package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;
import org.jxen.libc.Futex;

/**
 * Flyweight over what Xen keeps privately for a domain on the FIFO ABI (struct evtchn_fifo_domain, the
 * per-queue tail and lock of struct evtchn_fifo_queue, each port's priority and last queue): in jxen every sender
 * links events itself, from whatever process it runs in, so this state lives in the domain's event file, after
 * page 0, where senders map it with the event page. Written by the hypervisor (descriptor, priorities) and, under
 * the queue locks, by senders (tails, last queues); never seen by the domain's kernel code.
 *
 * <pre>
 * 0       int  control_gfn + 1   vCPU 0's control block page (0: none yet)
 * 4       int  control_offset
 * 8       int  array_pages       event-array pages added so far (ports below array_pages * 1024 have a word)
 * 12      int  memory_pages      the domain's page count: bounds every gfn a sender maps
 * 16      int  generation        0 on the 2-level ABI; else the FIFO ABI, numbered by the init_control that
 *                                switched to it. Every send reads it, so it shares its cache line only with
 *                                these fields, which change at init and expand_array, not with the event page's
 *                                words the receiver writes all the time
 * 20      int  ports_end         no port at or above it was ever handed out (what init's expansion must cover)
 * 64      int  lock[16]          per-queue lock: 0 free, else the holder's pid, bit 30 set if a waiter may sleep
 * 192     int  tail[16]          per-queue tail port (0: none)
 * 512     int  array_gfn[128]
 * 4096    u8   priority[131072]  per port, 0 (highest) .. 15
 * 135168  u8   last_queue[131072] the queue the port was last linked on (Xen's fifo_lastq)
 * 266240  long saved[2048]       pending while the port had no event word yet (Xen's evtchn->pending)
 * </pre>
 */
public final class FifoArea {
    static final long CONTROL_GFN = 0;
    static final long CONTROL_OFFSET = 4;
    static final long ARRAY_PAGES = 8;
    static final long MEMORY_PAGES = 12;
    static final long GENERATION = 16;
    static final long PORTS_END = 20;
    static final long LOCKS = 64;
    static final long TAILS = 192;
    static final long ARRAY_GFNS = 512;
    static final long PRIORITIES = 4096;
    static final long LAST_QUEUES = PRIORITIES + EventWord.NR_CHANNELS;
    static final long SAVED = LAST_QUEUES + EventWord.NR_CHANNELS;
    public static final long SIZE = SAVED + EventWord.NR_CHANNELS / 8;

    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle BYTE = ValueLayout.JAVA_BYTE.varHandle();
    /** Linux's pid_max is at most 2^22, so a pid leaves bit 30 free. */
    private static final int PID = (int) ProcessHandle.current().pid();
    private static final int WAITERS = 1 << 30;
    private static final int SPINS = 100;
    private static final long SLEEP_NANOS = 10_000_000L;
    private static final long VIRTUAL_PARK_NANOS = 100_000L;
    /** Sleeps between two checks whether a lock's holder process still exists (about a second). */
    private static final int HOLDER_CHECK = 100;

    private final MemorySegment area;
    private final MemorySegment[] lockWords = new MemorySegment[EventWord.QUEUES];

    public FifoArea(MemorySegment area) {
        this.area = area;
        for (int q = 0; q < EventWord.QUEUES; q++) lockWords[q] = area.asSlice(LOCKS + 4L * q, 4);
    }

    /** vCPU 0's control block page, or -1 before init_control named one. */
    int controlGfn() {
        return (int) INT.getVolatile(area, CONTROL_GFN) - 1;
    }

    int controlOffset() {
        return (int) INT.getVolatile(area, CONTROL_OFFSET);
    }

    void setControl(int gfn, int offset) {
        INT.setVolatile(area, CONTROL_OFFSET, offset);
        INT.setVolatile(area, CONTROL_GFN, gfn + 1);
    }

    /** Non-zero while the domain is on the FIFO ABI: which init_control switched it (senders key their maps on it). */
    int generation() {
        return (int) INT.getVolatile(area, GENERATION);
    }

    void setGeneration(int generation) {
        INT.setVolatile(area, GENERATION, generation);
    }

    int portsEnd() {
        return (int) INT.getVolatile(area, PORTS_END);
    }

    void setPortsEnd(int end) {
        INT.setVolatile(area, PORTS_END, end);
    }

    int arrayPages() {
        return (int) INT.getVolatile(area, ARRAY_PAGES);
    }

    int memoryPages() {
        return (int) INT.getVolatile(area, MEMORY_PAGES);
    }

    void setMemoryPages(int pages) {
        INT.setVolatile(area, MEMORY_PAGES, pages);
    }

    int arrayGfn(int slot) {
        return (int) INT.getVolatile(area, ARRAY_GFNS + 4L * slot);
    }

    /** Publishes one more page: its gfn first, then the count that makes its ports' words reachable. */
    void addArrayPage(int gfn) {
        int slot = arrayPages();
        INT.setVolatile(area, ARRAY_GFNS + 4L * slot, gfn);
        INT.setVolatile(area, ARRAY_PAGES, slot + 1);
    }

    /** Back to no FIFO state at all (EVTCHNOP_reset): no control block, no array, empty queues. */
    void clear() {
        INT.setVolatile(area, CONTROL_GFN, 0);
        INT.setVolatile(area, ARRAY_PAGES, 0);
        for (int q = 0; q < EventWord.QUEUES; q++) INT.setVolatile(area, TAILS + 4L * q, 0);
    }

    int tail(int q) {
        return (int) INT.getVolatile(area, TAILS + 4L * q);
    }

    void setTail(int q, int port) {
        INT.setVolatile(area, TAILS + 4L * q, port);
    }

    int priority(int port) {
        return (byte) BYTE.getVolatile(area, PRIORITIES + port);
    }

    void setPriority(int port, int priority) {
        BYTE.setVolatile(area, PRIORITIES + port, (byte) priority);
    }

    int lastQueue(int port) {
        return (byte) BYTE.getVolatile(area, LAST_QUEUES + port);
    }

    void setLastQueue(int port, int q) {
        BYTE.setVolatile(area, LAST_QUEUES + port, (byte) q);
    }

    /** Records a pending event for a port that has no event word yet. */
    void save(int port) {
        long unused = (long) LONG.getAndBitwiseOr(area, SAVED + (port >>> 6) * 8L, 1L << port);
    }

    /** Takes a saved event: true if it was there (whoever takes it links it). */
    boolean takeSaved(int port) {
        long bit = 1L << port;
        return ((long) LONG.getAndBitwiseAnd(area, SAVED + (port >>> 6) * 8L, ~bit) & bit) != 0;
    }

    /** Takes the saved events of the 64 ports from {@code port} (a multiple of 64) at once: a bit per port. */
    long takeSavedWord(int port) {
        long off = SAVED + (port >>> 6) * 8L;
        return (long) LONG.getVolatile(area, off) == 0 ? 0 : (long) LONG.getAndSet(area, off, 0L);
    }

    boolean saved(int port) {
        return ((long) LONG.getVolatile(area, SAVED + (port >>> 6) * 8L) & (1L << port)) != 0;
    }

    /**
     * Xen's queue lock, shared by every process that sends to the domain: a futex mutex (Drepper's, with the
     * holder's pid as the locked value). Waiters spin briefly, since the critical section is a few atomics, then
     * sleep: on a machine with more runnable threads than CPUs a descheduled holder is not helped by spinners,
     * which only take the CPU it needs (a run of 2000 guests convoyed behind dom0's queue lock with spinning
     * waiters). The pid lets a waiter take over the lock of a process that died holding it (a guest killed
     * mid-send): the queue may then have lost that one event, as Xen drops one it cannot link, but no sender
     * waits forever.
     */
    void lock(int q) {
        long off = LOCKS + 4L * q;
        if (INT.compareAndSet(area, off, 0, PID)) return;
        for (int spins = 0; spins < SPINS; spins++) {
            Thread.onSpinWait();
            if ((int) INT.getVolatile(area, off) == 0 && INT.compareAndSet(area, off, 0, PID)) return;
        }
        boolean virtual = Thread.currentThread().isVirtual();
        for (int waits = 1; ; waits++) {
            int v = (int) INT.getVolatile(area, off);
            if (v == 0) {
                // Taken with the waiters bit: others may still sleep, and our unlock must wake one.
                if (INT.compareAndSet(area, off, 0, PID | WAITERS)) return;
                continue;
            }
            if ((v & WAITERS) == 0 && !INT.compareAndSet(area, off, v, v | WAITERS)) continue;
            if (virtual) {
                LockSupport.parkNanos(VIRTUAL_PARK_NANOS); // a futex wait would pin the carrier
            } else {
                Futex.await(lockWords[q], v | WAITERS, SLEEP_NANOS);
            }
            int holder = v & ~WAITERS;
            if (waits % HOLDER_CHECK == 0 && holder != PID && !alive(holder)
                    && INT.compareAndSet(area, off, v | WAITERS, PID | WAITERS)) {
                System.getLogger("jxen.hypervisor").log(System.Logger.Level.WARNING,
                        "event queue " + q + " was held by process " + holder + ", which is gone; taken over");
                return;
            }
        }
    }

    void unlock(int q) {
        if (((int) INT.getAndSet(area, LOCKS + 4L * q, 0) & WAITERS) != 0) Futex.wake(lockWords[q], 1);
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }
}
