package org.jxen.hypervisor;

import java.io.IOException;

/**
 * XENMEM_decrease_reservation and XENMEM_populate_physmap (Xen's common/memory.c) for a domain's own frames: what
 * its balloon driver calls to give memory back to the hypervisor and to take it again. A frame given back is a
 * hole punched in the domain's memory file, so the host gets the page back and a save or a migration skips it;
 * one populated again reads as zeros. Both stop at the first frame they cannot take and answer how many they did,
 * as Xen's do (nr_done): a frame outside the domain, or one already in the state asked for. The domain's
 * {@code pages} never change: it cannot populate beyond the memory it was built with (max_pages).
 *
 * <p>jxen's choice where Xen differs: a frame that another domain has mapped through a grant goes at once (its
 * mapper then reads zeros) where Xen keeps the page until the last mapping goes. No balloon driver gives back a
 * page it has granted.
 */
final class MemoryOps {
    /** The most extents one call takes: Linux's balloon sends a page of frame numbers (512) at a time. */
    static final int MAX_EXTENTS = 512;

    private MemoryOps() {}

    static int decrease(Domain d, int[] frames) throws HypercallException {
        checkCount(frames);
        int done = 0;
        for (int f : frames) {
            // Marked as it goes, so that a frame named twice stops the call at its second.
            if (f < 0 || f >= d.pages || d.released.get(f)) break;
            d.released.set(f);
            done++;
        }
        try {
            d.memory.punch(frames, done);
        } catch (IOException e) {
            // Only a file the host cannot open, or a tmpfs without hole punching: nothing was given back.
            for (int i = 0; i < done; i++) d.released.clear(frames[i]);
            throw new HypercallException(Errno.ENOMEM, "giving frames back: " + e.getMessage());
        }
        d.releasedCount += done;
        return done;
    }

    static int populate(Domain d, int[] frames) throws HypercallException {
        checkCount(frames);
        int done = 0;
        for (int f : frames) {
            if (f < 0 || f >= d.pages || !d.released.get(f)) break;
            d.released.clear(f);
            d.releasedCount--;
            done++;
        }
        return done;
    }

    private static void checkCount(int[] frames) throws HypercallException {
        if (frames.length > MAX_EXTENTS) {
            throw new HypercallException(Errno.EINVAL, frames.length + " extents (at most " + MAX_EXTENTS + ")");
        }
    }
}
