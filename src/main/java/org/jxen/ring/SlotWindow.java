package org.jxen.ring;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One side's view of the ring's entries. Entries are handed out as direct slices of shared memory, except an
 * entry that straddles two separately mapped pages: no single MemorySegment can view it, so the side gets a
 * private staging copy, loaded from the pages on first access and written back by {@link #flush()} just
 * before the side publishes a producer index. Staging is per side because each side owns its slots at
 * different times; a staged slot is always one this side owns (it is producing into it or has consumed it),
 * so writing it back cannot clobber the peer.
 */
final class SlotWindow {
    private final SharedRingLayout layout;
    /** Staging buffers by slot number, created on demand; null entries for slots never staged. */
    private final MemorySegment[] staged;
    private final boolean[] dirty;
    private int dirtyCount;

    SlotWindow(SharedRingLayout layout) {
        this.layout = layout;
        this.staged = new MemorySegment[layout.size()];
        this.dirty = new boolean[layout.size()];
    }

    /** The entry at {@code idx}: a direct slice when possible, else this side's staging copy of it. */
    MemorySegment slot(int idx) {
        MemorySegment direct = layout.directEntry(idx);
        if (direct != null) return direct;
        int s = idx & (layout.size() - 1);
        if (staged[s] == null) staged[s] = Arena.ofAuto().allocate(layout.entrySize(), 8);
        if (!dirty[s]) {
            layout.copyOut(idx, staged[s]);
            dirty[s] = true;
            dirtyCount++;
        }
        return staged[s];
    }

    /** Writes the staged slots back to the pages; called before the release store of a producer index. */
    void flush() {
        if (dirtyCount == 0) return;
        for (int s = 0; s < dirty.length; s++) {
            if (dirty[s]) {
                layout.copyIn(staged[s], s);
                dirty[s] = false;
            }
        }
        dirtyCount = 0;
    }

    /** Forgets staged contents without writing them (ring re-initialised or re-attached). */
    void discard() {
        Arrays.fill(dirty, false);
        dirtyCount = 0;
    }
}
