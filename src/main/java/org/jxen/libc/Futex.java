package org.jxen.libc;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Linux futex(2) through libc's variadic {@code syscall}. Non-private operations, because the word lives in a
 * MAP_SHARED file mapping that other processes wait on and wake. Every variadic argument is passed as a long,
 * which is what glibc's syscall() reads with va_arg.
 */
public final class Futex {
    private static final long SYS_FUTEX = 202;
    private static final long FUTEX_WAIT = 0;
    private static final long FUTEX_WAKE = 1;
    private static final MethodHandle SYSCALL;

    static {
        Linker linker = Linker.nativeLinker();
        SYSCALL = linker.downcallHandle(
                linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS,
                        JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    /** futex_waitv(2), Linux 5.16; the same number on x86_64 and aarch64. */
    private static final long SYS_FUTEX_WAITV = 449;
    /** The most futexes one futex_waitv waits on. */
    public static final int WAITV_MAX = 128;
    /** struct futex_waitv: u64 val, u64 uaddr, u32 flags, u32 __reserved. */
    public static final long WAITV_SIZE = 24;
    /** FUTEX2_SIZE_U32, and not FUTEX2_PRIVATE: the words are shared with other processes. */
    private static final int FUTEX2_SIZE_U32 = 0x02;
    private static final int ENOSYS = 38;
    private static final MethodHandle SYSCALL_ERRNO;
    private static final java.lang.foreign.StructLayout STATE = Linker.Option.captureStateLayout();
    private static final java.lang.invoke.VarHandle ERRNO =
            STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    static {
        Linker linker = Linker.nativeLinker();
        SYSCALL_ERRNO = linker.downcallHandle(
                linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG),
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    }

    private Futex() {
    }

    /** A buffer for {@link #waitv}'s errno, one per calling thread. */
    public static MemorySegment callState(Arena arena) {
        return arena.allocate(STATE);
    }

    /** Fills entry {@code i} of a futex_waitv array: wait while the int at {@code word} equals {@code expected}. */
    public static void setWaiter(MemorySegment waiters, int i, MemorySegment word, int expected) {
        long at = i * WAITV_SIZE;
        waiters.set(JAVA_LONG, at, expected & 0xFFFF_FFFFL);
        waiters.set(JAVA_LONG, at + 8, word.address());
        waiters.set(java.lang.foreign.ValueLayout.JAVA_INT, at + 16, FUTEX2_SIZE_U32);
        waiters.set(java.lang.foreign.ValueLayout.JAVA_INT, at + 20, 0);
    }

    /**
     * Sleeps until one of the first {@code count} futexes of {@code waiters} is woken, or none of them holds its
     * expected value: the index of the woken one, or -errno (EAGAIN: a value differed; EINTR).
     */
    public static int waitv(MemorySegment waiters, int count, MemorySegment callState) {
        try {
            long r = (long) SYSCALL_ERRNO.invokeExact(callState, SYS_FUTEX_WAITV, waiters, (long) count, 0L,
                    MemorySegment.NULL, 0L);
            return r >= 0 ? (int) r : -(int) ERRNO.get(callState, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("futex_waitv", t);
        }
    }

    /** Whether this kernel has futex_waitv (an empty call answers EINVAL there, ENOSYS before Linux 5.16). */
    public static boolean hasWaitv() {
        try (Arena a = Arena.ofConfined()) {
            return waitv(a.allocate(WAITV_SIZE, 8), 0, callState(a)) != -ENOSYS;
        }
    }

    /** Sleeps while the int at {@code word} equals {@code expected}; returns on wake, mismatch or signal. */
    public static void await(MemorySegment word, int expected) {
        try {
            long unused = (long) SYSCALL.invokeExact(SYS_FUTEX, word, FUTEX_WAIT, (long) expected,
                    MemorySegment.NULL, MemorySegment.NULL, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("futex wait", t);
        }
    }

    /** {@link #await}, for at most {@code nanos} (FUTEX_WAIT's relative timeout). */
    public static void await(MemorySegment word, int expected, long nanos) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment timeout = arena.allocate(16, 8); // struct timespec
            timeout.set(JAVA_LONG, 0, nanos / 1_000_000_000L);
            timeout.set(JAVA_LONG, 8, nanos % 1_000_000_000L);
            long unused = (long) SYSCALL.invokeExact(SYS_FUTEX, word, FUTEX_WAIT, (long) expected, timeout,
                    MemorySegment.NULL, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("futex wait", t);
        }
    }

    public static void wake(MemorySegment word, int count) {
        try {
            long unused = (long) SYSCALL.invokeExact(SYS_FUTEX, word, FUTEX_WAKE, (long) count,
                    MemorySegment.NULL, MemorySegment.NULL, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("futex wake", t);
        }
    }
}
