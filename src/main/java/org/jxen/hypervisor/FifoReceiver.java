package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A domain on the FIFO ABI as whoever raises its events sees it: its event words and control block (pages of
 * its memory, named by the hypervisor in its {@link FifoArea}) and the queues' tails and locks. {@link #raise}
 * is Xen's evtchn_fifo_set_pending, run by the hypervisor, by a sending domain's library, or by the domain's own
 * library for an unmask, in any process. Subclasses say how a page of the receiver's memory is reached.
 */
abstract class FifoReceiver {
    private final EventPage events;
    private final FifoArea area;
    private volatile Words words;

    /** What one init_control named (a generation of the ABI switch): the control block and the pages seen so far. */
    private static final class Words {
        final int generation;
        final MemorySegment control;
        final MemorySegment[] pages = new MemorySegment[EventWord.MAX_ARRAY_PAGES];

        Words(int generation, MemorySegment control) {
            this.generation = generation;
            this.control = control;
        }
    }

    FifoReceiver(EventPage events, FifoArea area) {
        this.events = events;
        this.area = area;
    }

    /** Page {@code gfn} of the receiver's memory ({@code gfn} is below its page count), or null if it is gone. */
    protected abstract MemorySegment frame(int gfn);

    final EventPage events() {
        return events;
    }

    final FifoArea area() {
        return area;
    }

    /** True while the receiver is on the FIFO ABI. */
    final boolean active() {
        return area.generation() != 0;
    }

    /** The current generation's words, or null on the 2-level ABI. */
    private Words words() {
        int generation = area.generation();
        if (generation == 0) return null;
        Words w = words;
        if (w != null && w.generation == generation) return w;
        return refresh(generation);
    }

    private synchronized Words refresh(int generation) {
        Words w = words;
        if (w != null && w.generation == generation) return w;
        int gfn = area.controlGfn();
        MemorySegment control = null;
        if (gfn >= 0 && gfn < area.memoryPages()) {
            MemorySegment page = frame(gfn);
            if (page != null) control = page.asSlice(area.controlOffset(), EventWord.CONTROL_BLOCK_SIZE);
        }
        w = new Words(generation, control);
        words = w;
        return w;
    }

    /** vCPU 0's control block, or null (2-level, or none named yet). */
    final MemorySegment control() {
        Words w = words();
        return w == null ? null : w.control;
    }

    /** The event-array page holding {@code port}'s word, or null if it has none (yet). */
    final MemorySegment page(int port) {
        Words w = words();
        return w == null ? null : page(w, port);
    }

    private MemorySegment page(Words w, int port) {
        int slot = port / EventWord.WORDS_PER_PAGE;
        if (port < 0 || slot >= area.arrayPages()) return null;
        MemorySegment p = w.pages[slot];
        return p != null ? p : mapSlot(w, slot);
    }

    private synchronized MemorySegment mapSlot(Words w, int slot) {
        MemorySegment p = w.pages[slot];
        if (p != null) return p;
        int gfn = area.arrayGfn(slot);
        if (gfn < 0 || gfn >= area.memoryPages()) return null;
        p = frame(gfn);
        w.pages[slot] = p;
        return p;
    }

    /**
     * evtchn_fifo_set_pending on vCPU 0: sets PENDING and, unless the word is masked or already linked, appends
     * the port to the tail of its priority's queue, writing the queue's head in the control block if the queue
     * was empty; a queue that becomes non-empty sets its ready bit and wakes the receiver. Returns false (and
     * does nothing) if the receiver is on the 2-level ABI.
     */
    final boolean raise(int port) {
        Words w = words();
        if (w == null) return false;
        MemorySegment page = page(w, port);
        if (page == null) {
            // No word yet: keep the event for the expand_array that adds it. That call publishes the page and
            // then takes saved events; if it did so before our save, take ours back here and link it ourselves.
            area.save(port);
            page = page(w, port);
            if (page == null || !area.takeSaved(port)) return true;
        }
        link(w, page, port);
        return true;
    }

    private void link(Words w, MemorySegment page, int port) {
        long off = EventWord.offset(port);
        // A send is a hypercall, and on Xen a full barrier: what the sender wrote before it (a ring's producer
        // index, written with release semantics only) is visible before the receiver can see the event. The
        // plain read below would not give that: x86 may take it before the sender's earlier stores drain, and
        // a consumer that cleared PENDING meanwhile would read the old index, find nothing and sleep with the
        // message in its ring (a guest waiting for ever on a xenstore reply).
        VarHandle.fullFence();
        // Already pending and linked: the consumer has yet to clear LINKED and then PENDING before it delivers,
        // so this send is covered by that delivery, and Xen's set_pending would change nothing. Checked without
        // the queue lock, which a flood of sends to one port would otherwise take on every send.
        int now = EventWord.get(page, off);
        if ((now & (EventWord.PENDING | EventWord.LINKED)) == (EventWord.PENDING | EventWord.LINKED)) return;
        int q = 0;
        int old = 0;
        boolean locked = false;
        // Lock the queue the port goes to and the one it was last linked on (a priority change moves it).
        for (int attempt = 0; attempt < 3 && !locked; attempt++) {
            q = area.priority(port) & 15;
            old = area.lastQueue(port) & 15;
            lockBoth(q, old);
            if (q == (area.priority(port) & 15) && old == (area.lastQueue(port) & 15)) {
                locked = true;
            } else {
                unlockBoth(q, old);
            }
        }
        EventWord.testAndSet(page, off, EventWord.PENDING);
        if (!locked) {
            System.getLogger("jxen.hypervisor").log(System.Logger.Level.WARNING,
                    "port " + port + " lost event (too many queue changes)");
            return;
        }
        boolean wake = false;
        try {
            // No control block: the guest must not unmask before it has one, so the event is just pending.
            if (w.control == null) return;
            if ((EventWord.get(page, off) & EventWord.MASKED) == 0
                    && !EventWord.testAndSet(page, off, EventWord.LINKED)) {
                // If the port was a tail, that old queue is empty now: forget the tail so that a later link there
                // does not write into whichever queue the port is on next.
                if (area.tail(old) == port) area.setTail(old, 0);
                if (old != q) {
                    area.setLastQueue(port, q);
                    area.unlock(old);
                    old = q;
                }
                boolean linked = false;
                int tail = area.tail(q);
                if (tail != 0) {
                    MemorySegment tailPage = page(w, tail);
                    if (tailPage != null) linked = EventWord.setLink(tailPage, EventWord.offset(tail), port);
                }
                if (!linked) EventWord.setHead(w.control, q, port);
                area.setTail(q, port);
                // Inside the lock, unlike Xen: a sender process killed here leaves no queue linked but not ready.
                if (!linked) wake = !EventWord.markReady(w.control, q);
            }
        } finally {
            unlockBoth(q, old);
        }
        if (wake) events.wakeIfSleeping();
    }

    private void lockBoth(int q, int old) {
        if (q == old) {
            area.lock(q);
        } else {
            area.lock(Math.min(q, old));
            area.lock(Math.max(q, old));
        }
    }

    private void unlockBoth(int q, int old) {
        area.unlock(q);
        if (old != q) area.unlock(old);
    }

    /**
     * Unmask as Linux does it (evtchn_fifo_unmask): clear MASKED in place unless the port is pending, in which
     * case the hypervisor's unmask clears it and links the port (Xen's evtchn_fifo_unmask).
     */
    final void unmask(int port) {
        MemorySegment page = page(port);
        if (page == null) return;
        long off = EventWord.offset(port);
        if (EventWord.clearMaskedCond(page, off)) return;
        EventWord.clear(page, off, EventWord.MASKED);
        if ((EventWord.get(page, off) & EventWord.PENDING) != 0) raise(port);
    }

    final void mask(int port) {
        MemorySegment page = page(port);
        if (page != null) EventWord.testAndSet(page, EventWord.offset(port), EventWord.MASKED);
    }

    final boolean isPending(int port) {
        MemorySegment page = page(port);
        return page != null ? (EventWord.get(page, EventWord.offset(port)) & EventWord.PENDING) != 0
                : area.saved(port);
    }

    /**
     * A port handed out anew: not pending, not masked (jxen's stand-in for Linux unmasking a port it binds) and
     * at the default priority; LINKED is left alone, as Xen does: the consumer drops a linked word that is no
     * longer pending.
     */
    final void resetPort(int port) {
        area.takeSaved(port);
        area.setPriority(port, EventWord.PRIORITY_DEFAULT);
        MemorySegment page = page(port);
        if (page != null) EventWord.clear(page, EventWord.offset(port), EventWord.PENDING | EventWord.MASKED);
    }

    /** A port closed: Xen's clear_pending (only the PENDING bit). */
    final void clearPending(int port) {
        area.takeSaved(port);
        MemorySegment page = page(port);
        if (page != null) EventWord.clear(page, EventWord.offset(port), EventWord.PENDING);
    }
}
