package org.jxen.drivers.balloon;

import java.io.IOException;
import java.util.Arrays;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;
import org.jxen.xenstore.client.XsClient;

/**
 * Xen's balloon driver (Linux's drivers/xen/balloon.c and xen-balloon.c), built into every guest kernel. It
 * watches its domain's {@code memory/target}, which the toolstack writes in KiB ({@code xl mem-set},
 * libxl_set_memory_target), and gives free frames back to the hypervisor (XENMEM_decrease_reservation) or takes
 * back frames it gave (XENMEM_populate_physmap) until the domain holds that many pages; {@code xl list}'s Mem is
 * what the hypervisor counts, so it follows.
 *
 * <p>As Linux's balloon_process: at most a page of frame numbers (512) per hypercall, looping while it makes
 * progress; when the kernel has no free frame left to give (rings, {@code memdirty}'s pages) it keeps what it
 * reached and tries again after 1, 2, 4 ... 32 seconds, quietly. It cannot grow a domain beyond the memory it was
 * built with (jxen populates no frame above {@code memory}; Linux would hot-add memory there). A restored or
 * migrated domain starts with all its frames and a fresh balloon that follows the target the toolstack wrote for
 * it. dom0 has none: its memory is the host process's.
 */
public final class Balloon implements KernelModule {
    public static final String NAME = "xen_balloon";
    /** Frames per hypercall: Linux's frame_list, a page of frame numbers. */
    static final int BATCH = 512;
    /** balloon_stats.max_schedule_delay, seconds. */
    static final int MAX_DELAY_S = 32;
    private static final String TARGET = "memory/target";

    private enum State { DONE, EAGAIN, ECANCELED }

    private Kernel kernel;
    private Hypercalls hc;
    /** The frames given to the hypervisor; the last given is the first taken back (Linux's list of ballooned pages). */
    private int[] ballooned = new int[0];
    private int count;
    /** Pages the domain should hold; -1 until the toolstack's target is read. */
    private long target = -1;
    private int delaySeconds = 1;
    private Thread retry;
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
        this.kernel = kernel;
        this.hc = kernel.hypercalls();
        kernel.printk("xen:balloon: Initialising balloon driver");
        XsClient xs = kernel.xenstore();
        // Relative: the domain's own home. The daemon fires the watch once at registration.
        xs.watch(TARGET, NAME, (path, token) -> targetChanged(xs));
    }

    /** xen-balloon.c's watch_target: KiB to pages; a missing or unreadable node is no target. */
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
        }
        process();
    }

    /** Pages the domain holds as this driver counts them: its memory less what it gave back. */
    synchronized long currentPages() {
        return (long) hc.layout().memoryPages() - count;
    }

    /** balloon_process: toward the target while that makes progress, else a retry later. */
    synchronized void process() {
        if (stopped || target < 0) return;
        State state;
        long credit;
        do {
            credit = target - currentPages();
            if (credit > 0) state = count == 0 ? State.ECANCELED : increase((int) Math.min(credit, BATCH));
            else if (credit < 0) state = decrease((int) Math.min(-credit, BATCH));
            else state = State.DONE;
            state = updateSchedule(state);
        } while (credit != 0 && state == State.DONE);
        if (state == State.EAGAIN) scheduleRetry();
    }

    /** increase_reservation: the frames given last are populated again and go back to the page allocator. */
    private State increase(int n) {
        int[] frames = new int[Math.min(n, count)];
        for (int i = 0; i < frames.length; i++) frames[i] = ballooned[count - 1 - i];
        int done;
        try {
            done = hc.populatePhysmap(frames);
        } catch (HypercallException | RuntimeException e) {
            return hypercallFailed(e);
        }
        if (done <= 0) return State.EAGAIN;
        count -= done;
        kernel.returnFrames(frames, done);
        return State.DONE;
    }

    /** decrease_reservation: free frames from the page allocator go to the hypervisor. */
    private State decrease(int n) {
        int[] frames = kernel.takeFrames(n);
        if (frames.length == 0) return State.EAGAIN;
        int done;
        try {
            done = hc.decreaseReservation(frames);
        } catch (HypercallException | RuntimeException e) {
            kernel.returnFrames(frames, frames.length);
            return hypercallFailed(e);
        }
        if (done < frames.length) {
            // Linux BUG()s here: the frames were the kernel's own. Keep what went, give the rest back.
            int[] rest = Arrays.copyOfRange(frames, done, frames.length);
            kernel.returnFrames(rest, rest.length);
            kernel.printk("xen:balloon: the hypervisor took " + done + " of " + frames.length + " frames");
        }
        if (count + done > ballooned.length) ballooned = Arrays.copyOf(ballooned, Math.max(BATCH, 2 * (count + done)));
        System.arraycopy(frames, 0, ballooned, count, done);
        count += done;
        return done < n ? State.EAGAIN : State.DONE;
    }

    private State hypercallFailed(Exception e) {
        // The domain is going (destroyed, or its hypervisor connection closed): nothing more to do.
        if (!stopped) kernel.printk("xen:balloon: " + e.getMessage());
        return State.ECANCELED;
    }

    /** update_schedule: the delay doubles while there is nothing to give, up to 32 s; progress resets it. */
    private State updateSchedule(State state) {
        if (state == State.DONE || state == State.ECANCELED) {
            delaySeconds = 1;
            return state;
        }
        delaySeconds = Math.min(delaySeconds * 2, MAX_DELAY_S);
        return State.EAGAIN;
    }

    private void scheduleRetry() {
        if (retry != null) return;
        long delay = delaySeconds;
        retry = Thread.ofVirtual().name("d" + hc.domid() + "-" + NAME).start(() -> {
            try {
                Thread.sleep(delay * 1000);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                retry = null;
            }
            process();
        });
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
        if (retry != null) retry.interrupt();
        retry = null;
    }
}
