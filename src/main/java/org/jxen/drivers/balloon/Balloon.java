package org.jxen.drivers.balloon;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelRole;
import org.jxen.kernel.Workload;
import org.jxen.xenstore.client.XsClient;

/**
 * Xen's balloon driver (Linux's drivers/xen/balloon.c and xen-balloon.c), built into every guest kernel. It
 * watches its domain's {@code memory/target}, which the toolstack writes in KiB ({@code xl mem-set},
 * libxl_set_memory_target), and gives free frames back to the hypervisor (XENMEM_decrease_reservation) or takes
 * back frames it gave (XENMEM_populate_physmap) until the domain holds that many pages; {@code xl list}'s Mem is
 * what the hypervisor counts, so it follows. A domain built with {@code maxmem} above {@code memory} starts
 * without the frames between (the domain builder left them unpopulated): the balloon holds them from boot, as
 * Linux's does its extra memory, so mem-set can grow the domain up to {@code maxmem}.
 *
 * <p>As Linux's: the watch only records the target and wakes the worker (a thread of its own while it has work,
 * balloon_process); at most a page of frame numbers (512) per hypercall, looping while it makes progress; it never
 * takes the kernel's last free frames (a reserve, min_free_kbytes' sqrt(16 x KiB)); with nothing it may take it
 * keeps what it reached and tries again after 2, 4 ... 32 s, quietly. It freezes at suspend like any task, so a
 * suspended domain's memory does not change under a save. It cannot grow a domain beyond the frames it was built
 * with (Linux would hot-add memory). dom0 has none: its memory is the host process's.
 */
public final class Balloon implements Workload {
    public static final String NAME = "xen_balloon";
    /** Frames per hypercall: Linux's frame_list, a page of frame numbers. */
    static final int BATCH = 512;
    /** balloon_stats.max_schedule_delay, seconds. */
    static final int MAX_DELAY_S = 32;
    private static final String TARGET = "memory/target";

    private enum State { DONE, EAGAIN, ECANCELED }

    private Kernel kernel;
    private Hypercalls hc;
    /** Frames the kernel keeps free whatever the target. */
    private int reserve;
    /** The frames the hypervisor has of ours; the last given is the first taken back (Linux's ballooned pages). */
    private int[] ballooned = new int[0];
    private int count;
    /** Pages the domain should hold; -1 until the toolstack's target is read. */
    private long target = -1;
    private int delaySeconds = 1;
    /** The worker while it has work (a target to reach, or a retry to wait for); null when idle. */
    private Thread worker;
    /** A target arrived since the worker last looked: it runs again at once instead of waiting out its delay. */
    private boolean kicked;
    private boolean frozen;
    /** The worker is inside a run of hypercalls (freeze waits for it to come out). */
    private boolean busy;
    private boolean stopped;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.GUEST;
    }

    @Override
    public void init(Kernel kernel) throws IOException {
        if (kernel.domid() == 0) {
            // CONFIG_XEN_BALLOON is =y in a guest's kernel; dom0's memory here is the host process's.
            throw new IOException("dom0's memory is the host process's: there is nothing to balloon");
        }
        this.kernel = kernel;
        this.hc = kernel.hypercalls();
        int[] unpopulated = kernel.framesUnpopulatedAtBoot();
        synchronized (this) {
            ballooned = Arrays.copyOf(unpopulated, Math.max(BATCH, unpopulated.length));
            count = unpopulated.length;
            long kib = (long) hc.layout().memoryPages() * 4;
            reserve = (int) Math.clamp((long) Math.sqrt(kib * 16) / 4, 32, 16384);
        }
        kernel.printk("xen:balloon: Initialising balloon driver");
        XsClient xs = kernel.xenstore();
        // Relative: the domain's own home. The daemon fires the watch once at registration.
        xs.watch(TARGET, NAME, (path, token) -> targetChanged(xs));
    }

    /** xen-balloon.c's watch_target: KiB to pages; a missing or unreadable node is no target. Wakes the worker. */
    private void targetChanged(XsClient xs) {
        long kib;
        try {
            String v = xs.readOrNull(TARGET);
            if (v == null) return;
            kib = Long.parseLong(v.strip());
        } catch (IOException | NumberFormatException e) {
            return;
        }
        if (kib < 0) return;
        synchronized (this) {
            target = kib >> 2;
            // The usual case, the watch's first event at boot: nothing to do, and no thread started for it.
            if (worker == null && target == currentPages()) return;
            kick();
        }
    }

    /** There is work: the worker looks at once, started if it is idle. */
    private void kick() {
        kicked = true;
        if (worker == null && !stopped && target >= 0) {
            worker = Thread.ofVirtual().name("d" + hc.domid() + "-" + NAME).start(this::work);
        } else {
            notifyAll();
        }
    }

    /** Pages the domain holds as this driver counts them: its size less what the hypervisor has of ours. */
    synchronized long currentPages() {
        return (long) hc.layout().memoryPages() - count;
    }

    /** The worker: balloon_process until the target is reached or cannot be, waiting out retry delays. */
    private void work() {
        try {
            while (true) {
                synchronized (this) {
                    while (frozen && !stopped) wait();
                    if (stopped) return;
                    kicked = false;
                    busy = true;
                }
                State state;
                try {
                    state = process();
                } finally {
                    synchronized (this) {
                        busy = false;
                        notifyAll();
                    }
                }
                synchronized (this) {
                    if (state != State.EAGAIN && !kicked) {
                        worker = null;
                        return;
                    }
                    long until = System.nanoTime() + Duration.ofSeconds(delaySeconds).toNanos();
                    while (!kicked && !stopped && System.nanoTime() < until) {
                        wait(Math.max(1, (until - System.nanoTime()) / 1_000_000));
                    }
                }
            }
        } catch (InterruptedException e) {
            synchronized (this) {
                worker = null;
            }
        }
    }

    /** One balloon_process: toward the target while that makes progress. */
    private State process() {
        State state;
        long credit;
        do {
            synchronized (this) {
                if (stopped || frozen || target < 0) return State.ECANCELED;
                credit = target - currentPages();
            }
            if (credit > 0) state = count == 0 ? State.ECANCELED : increase((int) Math.min(credit, BATCH));
            else if (credit < 0) state = decrease((int) Math.min(-credit, BATCH));
            else state = State.DONE;
            state = updateSchedule(state);
        } while (credit != 0 && state == State.DONE);
        return state;
    }

    /** increase_reservation: the frames given last are populated again and go back to the page allocator. */
    private State increase(int n) {
        int[] frames;
        synchronized (this) {
            frames = new int[Math.min(n, count)];
            for (int i = 0; i < frames.length; i++) frames[i] = ballooned[count - 1 - i];
        }
        int done;
        try {
            done = hc.populatePhysmap(frames);
        } catch (HypercallException e) {
            return hypercallFailed(e);
        }
        if (done <= 0) return State.EAGAIN;
        synchronized (this) {
            count -= done;
        }
        kernel.returnFrames(frames, done);
        return State.DONE;
    }

    /** decrease_reservation: free frames from the page allocator (never its reserve) go to the hypervisor. */
    private State decrease(int n) {
        int[] frames = kernel.takeFrames(n, reserve);
        if (frames.length == 0) return State.EAGAIN;
        int done;
        try {
            done = hc.decreaseReservation(frames);
        } catch (HypercallException e) {
            kernel.returnFrames(frames, frames.length);
            return hypercallFailed(e);
        }
        if (done < frames.length) {
            // Linux BUG()s here: the frames were the kernel's own. Keep what went, give the rest back.
            int[] rest = Arrays.copyOfRange(frames, done, frames.length);
            kernel.returnFrames(rest, rest.length);
            kernel.printk("xen:balloon: the hypervisor took " + done + " of " + frames.length + " frames");
        }
        synchronized (this) {
            if (count + done > ballooned.length) ballooned = Arrays.copyOf(ballooned, 2 * (count + done));
            System.arraycopy(frames, 0, ballooned, count, done);
            count += done;
        }
        return done < n ? State.EAGAIN : State.DONE;
    }

    /** Out of memory on the host's side is worth another try; anything else (the domain going) ends the work. */
    private State hypercallFailed(HypercallException e) {
        if (e.errno() == Errno.ENOMEM || e.errno() == Errno.EAGAIN) return State.EAGAIN;
        synchronized (this) {
            if (stopped) return State.ECANCELED;
        }
        kernel.printk("xen:balloon: " + e.getMessage());
        return State.ECANCELED;
    }

    /** update_schedule: the delay doubles while there is nothing to do, up to 32 s; progress resets it. */
    private synchronized State updateSchedule(State state) {
        if (state == State.DONE || state == State.ECANCELED) {
            delaySeconds = 1;
            return state;
        }
        delaySeconds = Math.min(delaySeconds * 2, MAX_DELAY_S);
        return State.EAGAIN;
    }

    // ---- suspend: the balloon is a freezable task, as Linux's balloon kthread is. It records nothing: a restored
    // domain starts with the frames its config's memory gives, and a fresh balloon. ----

    @Override
    public synchronized boolean freeze(Duration timeout) throws InterruptedException {
        frozen = true;
        long until = System.nanoTime() + timeout.toNanos();
        while (busy) {
            long left = until - System.nanoTime();
            if (left <= 0) return false;
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    @Override
    public synchronized void thaw() {
        frozen = false;
        kick(); // a target may have come while frozen
    }

    @Override
    public void abandon() {
        stop();
    }

    @Override
    public void exit(Kernel kernel) {
        stop();
    }

    @Override
    public void killed(Kernel kernel) {
        stop();
    }

    private synchronized void stop() {
        stopped = true;
        notifyAll();
    }
}
