package org.jxen.libc;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The CPU clock of the OS thread that runs the caller: for a virtual thread, its carrier's. The JVM has no CPU
 * clock for a virtual thread; one that reads the carrier's clock before and after a stretch of work that stayed
 * on one carrier has the CPU time of that stretch.
 */
public final class ThreadClock {
    private static final int CLOCK_THREAD_CPUTIME_ID = 3;
    private static final MethodHandle CLOCK_GETTIME;

    static {
        Linker linker = Linker.nativeLinker();
        CLOCK_GETTIME = linker.downcallHandle(linker.defaultLookup().findOrThrow("clock_gettime"),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), Linker.Option.critical(false));
    }

    private ThreadClock() {
    }

    /** A struct timespec for {@link #nanos}. */
    public static MemorySegment timespec(Arena arena) {
        return arena.allocate(16, 8);
    }

    /** CPU nanoseconds of the calling OS thread so far, or -1. */
    public static long nanos(MemorySegment timespec) {
        try {
            int r = (int) CLOCK_GETTIME.invokeExact(CLOCK_THREAD_CPUTIME_ID, timespec);
            if (r != 0) return -1;
            return timespec.get(JAVA_LONG, 0) * 1_000_000_000L + timespec.get(JAVA_LONG, 8);
        } catch (Throwable t) {
            throw new IllegalStateException("clock_gettime", t);
        }
    }
}
