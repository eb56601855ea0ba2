package org.jxen.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The page a benchmark guest shares with the host: frame {@link #FRAME} of the guest's own memory, which the host
 * maps with {@code mapForeign} (in-process guests use it too, so both modes run the same code). The host writes
 * the command word; the guest publishes readiness, counters and its latency percentiles. Shared memory rather
 * than the guest's stdout because the guest inherits the host's stdio and the counters are read while it runs.
 */
final class BenchPage {
    /** Frames 0 and 1 are the console and xenstore pages; 2 is the first free one. */
    static final int FRAME = 2;

    /** Command word values. */
    static final long RUN = 0;
    static final long ECHO = 1;
    static final long STOP = 2;

    private static final long COMMAND = 0;
    private static final long READY = 8;
    private static final long COUNT = 16;
    private static final long ERRORS = 24;
    private static final long NANOS = 32;
    private static final long P50 = 40;
    private static final long P99 = 48;
    private static final long DONE = 56;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment page;

    BenchPage(MemorySegment page) {
        this.page = page;
    }

    private long get(long off) {
        return (long) LONG.getVolatile(page, off);
    }

    private void set(long off, long v) {
        LONG.setVolatile(page, off, v);
    }

    long command() {
        return get(COMMAND);
    }

    void command(long c) {
        set(COMMAND, c);
    }

    boolean ready() {
        return get(READY) != 0;
    }

    void markReady() {
        set(READY, 1);
    }

    long count() {
        return get(COUNT);
    }

    /** Release store: the event thread's counter needs visibility, not a full fence per delivery. */
    void count(long c) {
        LONG.setRelease(page, COUNT, c);
    }

    /** The result {@link #publish}ed; valid once {@link #done}. */
    TimedLoop.Result result() {
        return new TimedLoop.Result(get(COUNT), get(ERRORS), get(NANOS), get(P50), get(P99));
    }

    boolean done() {
        return get(DONE) != 0;
    }

    /** A finished loop measurement; DONE is written last so the host never reads a half-written result. */
    void publish(TimedLoop.Result r) {
        set(COUNT, r.count());
        set(ERRORS, r.errors());
        set(NANOS, r.nanos());
        set(P50, r.p50Nanos());
        set(P99, r.p99Nanos());
        set(DONE, 1);
    }
}
