package org.jxen.libc;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** getrlimit(2)/setrlimit(2): a host looks at, and raises, its own soft limits. */
public final class Rlimits {
    public static final int RLIMIT_NPROC = 6;
    public static final int RLIMIT_NOFILE = 7;
    /** RLIM_INFINITY: no limit. */
    public static final long INFINITY = -1L;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle GET = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("getrlimit"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle SET = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("setrlimit"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));

    private Rlimits() {}

    /** {soft, hard} ({@link #INFINITY} for none), or null if the call failed. */
    public static long[] get(int resource) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(16, 8);
            if ((int) GET.invokeExact(resource, r) != 0) return null;
            return new long[] {r.get(JAVA_LONG, 0), r.get(JAVA_LONG, 8)};
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Sets the soft limit to the hard one; the limits now, or null if either call failed. */
    public static long[] raiseSoftToHard(int resource) {
        long[] now = get(resource);
        if (now == null || now[0] == now[1]) return now;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(16, 8);
            r.set(JAVA_LONG, 0, now[1]);
            r.set(JAVA_LONG, 8, now[1]);
            if ((int) SET.invokeExact(resource, r) != 0) return now;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return get(resource);
    }
}
