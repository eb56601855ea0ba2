package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;

/**
 * Linux's FIFO upcall (evtchn_fifo_handle_events, consume_one_event) for vCPU 0, run by the domain's event
 * thread: take the ready word, serve the highest-priority ready queue one event at a time (re-reading the ready
 * word after each, so a newly ready higher-priority queue goes first), walking each queue from a local head that
 * falls back to the control block's head when the walk reached a tail.
 */
final class FifoConsumer {
    private final FifoReceiver self;
    /** Linux's per-CPU q->head[]: where the walk of each queue continues (0: read the control block's head). */
    private final int[] localHead = new int[EventWord.QUEUES];
    private int generation;

    FifoConsumer(FifoReceiver self) {
        this.self = self;
    }

    /** Whether an event is ready to be consumed: the sleeper's re-check. */
    boolean anyReady() {
        MemorySegment control = self.control();
        return control != null && EventWord.ready(control) != 0;
    }

    /** Delivers every ready event; true if at least one handler ran. */
    boolean consume(EventHandler handler) {
        MemorySegment control = self.control();
        if (control == null) return false;
        int g = self.area().generation();
        if (g != generation) {
            // A new control block (init_control after a reset): Linux's init_control_block clears the local heads.
            java.util.Arrays.fill(localHead, 0);
            generation = g;
        }
        boolean any = false;
        int ready = EventWord.takeReady(control);
        while (ready != 0) {
            int q = Integer.numberOfTrailingZeros(ready);
            int head = localHead[q];
            if (head == 0) head = EventWord.head(control, q);
            MemorySegment page = self.page(head);
            if (page == null) {
                // A head outside the event array: the guest's own memory was scribbled on; drop the queue.
                localHead[q] = 0;
                ready &= ~(1 << q);
            } else {
                long off = EventWord.offset(head);
                int next = EventWord.clearLinked(page, off);
                if (next == 0) ready &= ~(1 << q);
                // The ack of Linux's edge handler clears PENDING before the handler runs, so a send meanwhile
                // links the port again and is delivered once more.
                if ((EventWord.get(page, off) & EventWord.MASKED) == 0
                        && (EventWord.clear(page, off, EventWord.PENDING) & EventWord.PENDING) != 0) {
                    any = true;
                    handler.onEvent(head);
                }
                localHead[q] = next;
            }
            if (self.events().runstate() != EventPage.RUNNING) {
                // Paused (or dying) meanwhile: a descheduled vCPU runs no more of its upcall. The queues not
                // finished go back into the ready word for the pass after the unpause.
                if (ready != 0) EventWord.markReadyBits(control, ready);
                break;
            }
            ready |= EventWord.takeReady(control);
        }
        return any;
    }
}
