package org.jxen.drivers.net.back;

/**
 * One queue's transmit credit (Linux netback's credit scheduler: tx_credit_exceeded, tx_add_credit,
 * xenvif_tx_credit_callback and xen_net_rate_changed). The backend's {@code rate = "BYTES,USECS"} gives each queue
 * BYTES of credit every USECS; a packet whose size exceeds what is left waits for the next window (Linux arms a
 * timer; here the queue's tx thread sleeps until then). A burst may reach max(128 KiB, BYTES) so that a 64 KiB
 * packet always fits. Without a rate (or an unparsable one) the credit is unlimited. Linux counts windows in
 * jiffies; here in nanoseconds.
 */
final class TxCredit {
    /** tx_add_credit: a burst big enough for a 128 KiB packet, whatever the rate. */
    static final long MIN_BURST = 131072;
    /** ~0UL: unlimited. */
    static final long UNLIMITED = -1L;

    private long creditBytes = UNLIMITED;
    private volatile boolean limited;
    private long creditUsec;
    private long remaining = UNLIMITED;
    private long windowStart;
    /** When the credit timer fires (nanoTime), or 0 when none is pending. */
    private long timer;

    TxCredit(long now) {
        windowStart = now;
    }

    /** The rate of a connect: credit_bytes, remaining_credit and credit_usec set outright. */
    synchronized void init(long bytes, long usec) {
        creditBytes = bytes;
        remaining = bytes;
        creditUsec = usec;
        limited = bytes != UNLIMITED;
    }

    /** Whether a rate is set (the tx path skips the scheduler when not). */
    boolean limited() {
        return limited;
    }

    /**
     * xen_net_rate_changed: the new rate applies at once; a pending timer fires now, else what is left is cut to
     * one window's credit.
     */
    synchronized void change(long bytes, long usec, long now) {
        creditBytes = bytes;
        creditUsec = usec;
        limited = bytes != UNLIMITED;
        if (timer != 0) {
            timer = now;
        } else if (Long.compareUnsigned(remaining, creditBytes) > 0) {
            remaining = creditBytes;
        }
    }

    /**
     * tx_credit_exceeded for a packet of {@code size} bytes: 0 if it may go now, else the nanoTime at which to
     * try again.
     */
    synchronized long exceeded(int size, long now) {
        if (Long.compareUnsigned(size, remaining) <= 0) return 0;
        if (timer != 0) {
            if (now - timer < 0) return timer;
            timer = 0; // xenvif_tx_credit_callback
            addCredit();
        }
        long window = creditUsec < 0 || creditUsec > Long.MAX_VALUE / 4000 ? Long.MAX_VALUE / 4 : creditUsec * 1000;
        long next = windowStart + window;
        if (now - next >= 0) {
            windowStart = now;
            addCredit();
        }
        if (Long.compareUnsigned(size, remaining) > 0) {
            timer = next;
            windowStart = next;
            return next;
        }
        return 0;
    }

    /** The packet went: its size is taken from the credit. */
    synchronized void consume(int size) {
        if (remaining != UNLIMITED) remaining = Long.compareUnsigned(remaining, size) >= 0 ? remaining - size : 0;
    }

    private void addCredit() {
        long maxBurst = Long.compareUnsigned(creditBytes, MIN_BURST) > 0 ? creditBytes : MIN_BURST;
        long maxCredit = remaining + creditBytes;
        if (Long.compareUnsigned(maxCredit, remaining) < 0) maxCredit = UNLIMITED; // wrapped
        remaining = Long.compareUnsigned(maxCredit, maxBurst) < 0 ? maxCredit : maxBurst;
    }

    /**
     * xen_net_read_rate: {@code "BYTES,USECS"} in decimal; absent or unparsable (then {@code warn} is told
     * Linux's line) is unlimited.
     */
    static long[] parse(String rate, java.util.function.Consumer<String> warn) {
        if (rate == null) return new long[] {UNLIMITED, 0};
        int comma = rate.indexOf(',');
        try {
            if (comma <= 0 || comma == rate.length() - 1) throw new NumberFormatException();
            long b = Long.parseUnsignedLong(rate.substring(0, comma));
            long u = Long.parseUnsignedLong(rate.substring(comma + 1));
            return new long[] {b, u};
        } catch (NumberFormatException e) {
            warn.accept("Failed to parse network rate limit. Traffic unlimited.");
            return new long[] {UNLIMITED, 0};
        }
    }
}
