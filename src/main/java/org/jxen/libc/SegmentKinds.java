package org.jxen.libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Loads every {@link MemorySegment} implementation (native, mapped, heap) when a JVM starts. The JIT compiles
 * code over segments assuming only the implementations loaded so far (class hierarchy analysis); the first
 * heap segment, made by {@code toArray} when a driver reads its first message, used to load the third one in
 * the middle of a run and throw away about 150 compiled methods at once, which the JIT then compiled again
 * (docs/bench.md, "Session 14").
 */
public final class SegmentKinds {
    private SegmentKinds() {
    }

    /** Called first thing by each of jxen's main methods. */
    public static void loadAll() {
        MemorySegment.ofArray(new byte[0]);
        try (Arena arena = Arena.ofConfined()) {
            arena.allocate(1);
        }
    }
}
