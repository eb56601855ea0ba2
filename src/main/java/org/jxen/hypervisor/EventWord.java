package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The FIFO ABI's event word (event_word_t, a u32 per port in the domain's event-array pages) and the atomic
 * operations both sides make on it, as in Xen's event_fifo.c (set_pending's link) and Linux's events_fifo.c
 * (consume, unmask). Bit 31 PENDING, 30 MASKED, 29 LINKED, 28 BUSY, bits 0-16 LINK (the next port of its queue).
 */
public final class EventWord {
    public static final int PENDING = 1 << 31;
    public static final int MASKED = 1 << 30;
    public static final int LINKED = 1 << 29;
    public static final int BUSY = 1 << 28;
    public static final int LINK_BITS = 17;
    public static final int LINK_MASK = (1 << LINK_BITS) - 1;
    /** EVTCHN_FIFO_NR_CHANNELS: ports of a domain on the FIFO ABI. */
    public static final int NR_CHANNELS = 1 << LINK_BITS;
    public static final int WORDS_PER_PAGE = GrantEntry.PAGE_SIZE / 4;
    public static final int MAX_ARRAY_PAGES = NR_CHANNELS / WORDS_PER_PAGE;
    public static final int QUEUES = 16;
    public static final int PRIORITY_DEFAULT = 7;
    public static final int PRIORITY_MIN = 15;
    /** sizeof(struct evtchn_fifo_control_block): u32 ready, u32 reserved, u32 head[16]. */
    public static final int CONTROL_BLOCK_SIZE = 72;
    static final long READY_OFFSET = 0;
    static final long HEAD_OFFSET = 8;

    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private EventWord() {
    }

    /** Where a port's word lies in its event-array page. */
    static long offset(int port) {
        return (long) (port & (WORDS_PER_PAGE - 1)) * 4;
    }

    static int get(MemorySegment page, long off) {
        return (int) INT.getVolatile(page, off);
    }

    /** Sets {@code bit}; returns whether it was set before (guest_test_and_set_bit). */
    static boolean testAndSet(MemorySegment page, long off, int bit) {
        return ((int) INT.getAndBitwiseOr(page, off, bit) & bit) != 0;
    }

    /** Clears {@code bits}; returns the word as it was. */
    static int clear(MemorySegment page, long off, int bits) {
        return (int) INT.getAndBitwiseAnd(page, off, ~bits);
    }

    /**
     * Xen's evtchn_fifo_set_link: sets the LINK of a queue's tail word to {@code link} iff the word is still
     * LINKED (else the consumer has taken it and the queue is empty: false). The guest may meanwhile set or clear
     * MASKED, clear PENDING or unlink; BUSY keeps it from unmasking, so the compare-and-swap fails at most a few
     * times.
     */
    static boolean setLink(MemorySegment page, long off, int link) {
        int w = get(page, off);
        if ((w & LINKED) == 0) return false;
        if (casLink(page, off, w, link) == w) return true;
        int unused = (int) INT.getAndBitwiseOr(page, off, BUSY);
        w = get(page, off);
        for (int attempt = 0; attempt < 4; attempt++) {
            if ((w & LINKED) == 0) {
                clear(page, off, BUSY);
                return false;
            }
            int seen = casLink(page, off, w, link);
            if (seen == w) return true;
            w = seen;
        }
        // Xen's "port not linked" warning: the word kept changing under us; the event is dropped, as there.
        System.getLogger("jxen.hypervisor").log(System.Logger.Level.WARNING, "port " + link + " not linked");
        clear(page, off, BUSY);
        return true;
    }

    private static int casLink(MemorySegment page, long off, int w, int link) {
        return (int) INT.compareAndExchange(page, off, w, (w & ~(BUSY | LINK_MASK)) | link);
    }

    /** Linux's clear_linked: unlinks a consumed word and returns the LINK it held (0: it was the queue's tail). */
    static int clearLinked(MemorySegment page, long off) {
        int old = get(page, off);
        while (true) {
            int seen = (int) INT.compareAndExchange(page, off, old, old & ~(LINKED | LINK_MASK));
            if (seen == old) return old & LINK_MASK;
            old = seen;
        }
    }

    /**
     * Linux's clear_masked_cond: clears MASKED unless the word is PENDING (then the hypervisor must re-link it:
     * false) or BUSY (a producer is linking behind it: wait until it is done).
     */
    static boolean clearMaskedCond(MemorySegment page, long off) {
        int old = get(page, off);
        while (true) {
            if ((old & MASKED) == 0) return true;
            if ((old & PENDING) != 0) return false;
            int expect = old & ~BUSY;
            int seen = (int) INT.compareAndExchange(page, off, expect, expect & ~MASKED);
            if (seen == expect) return true;
            old = seen;
            if ((old & BUSY) != 0) Thread.onSpinWait();
        }
    }

    static int ready(MemorySegment control) {
        return (int) INT.getVolatile(control, READY_OFFSET);
    }

    /** Linux's xchg of the ready word: the queues that became non-empty since the last take. */
    static int takeReady(MemorySegment control) {
        return (int) INT.getAndSet(control, READY_OFFSET, 0);
    }

    /** Sets ready bit {@code q}; returns whether it was set already. */
    static boolean markReady(MemorySegment control, int q) {
        return ((int) INT.getAndBitwiseOr(control, READY_OFFSET, 1 << q) & (1 << q)) != 0;
    }

    static void markReadyBits(MemorySegment control, int bits) {
        int unused = (int) INT.getAndBitwiseOr(control, READY_OFFSET, bits);
    }

    static int head(MemorySegment control, int q) {
        return (int) INT.getVolatile(control, HEAD_OFFSET + 4L * q);
    }

    static void setHead(MemorySegment control, int q, int port) {
        INT.setVolatile(control, HEAD_OFFSET + 4L * q, port);
    }
}
