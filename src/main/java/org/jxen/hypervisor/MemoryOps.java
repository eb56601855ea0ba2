package org.jxen.hypervisor;

import java.io.IOException;
import org.jxen.libc.Libc;

/**
 * XENMEM_decrease_reservation and XENMEM_populate_physmap (Xen's common/memory.c) for a domain's own frames, what
 * its balloon driver calls to give memory back to the hypervisor and to take it again, and the domain builder's
 * choice of frames to leave unpopulated (a domain built with {@code maxmem} holding {@code memory}). A frame given
 * back has no page: its hole punched in the domain's memory file (the host has the page back, a save or migration
 * skips it), a grant of it is bad_page, a foreign map of it EINVAL; populated again it reads as zeros. Each call
 * stops at the first frame it cannot take and answers how many it did, as Xen's do (nr_done): a frame outside the
 * domain, or one already in the state asked for. A domain never grows beyond the frames it was built with.
 *
 * <p>jxen's choice where Xen differs: a frame another domain has mapped through a grant goes at once (its mapper
 * then reads zeros) where Xen keeps the page until the last mapping goes; no balloon driver gives back a page it
 * has granted. A guest that writes a frame it gave back gives the file a page again (nothing traps the write);
 * populating the frame punches it again, so it still reads as zeros.
 */
final class MemoryOps {
    /** The most extents one call takes: Linux's balloon sends a page of frame numbers (512) at a time. */
    static final int MAX_EXTENTS = 512;
    /** MADV_REMOVE: frees a range of a shared mapping and its backing store, a hole punched in a tmpfs file. */
    private static final int MADV_REMOVE = 9;

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
            punch(d, frames, done);
        } catch (IOException e) {
            for (int i = 0; i < done; i++) d.released.clear(frames[i]);
            throw new HypercallException(Errno.ENOMEM, "giving frames back: " + e.getMessage());
        }
        d.releasedCount += done;
        return done;
    }

    static int populate(Domain d, int[] frames) throws HypercallException {
        checkCount(frames);
        int done = 0;
        while (done < frames.length) {
            int f = frames[done];
            if (f < 0 || f >= d.pages || !d.released.get(f)) break;
            d.released.clear(f);
            done++;
        }
        try {
            punch(d, frames, done); // a write since it was given back gave it a page: zeros again
        } catch (IOException e) {
            for (int i = 0; i < done; i++) d.released.set(frames[i]);
            throw new HypercallException(Errno.ENOMEM, "populating frames: " + e.getMessage());
        }
        d.releasedCount -= done;
        return done;
    }

    /**
     * The domain builder leaves {@code count} frames from {@code first} unpopulated (libxc populates only the
     * pages the domain starts with); frames already without a page are left as they are. EINVAL for a range
     * outside the domain.
     */
    static void unpopulate(Domain d, int first, int count) throws HypercallException {
        if (first < 0 || count < 0 || (long) first + count > d.pages) {
            throw new HypercallException(Errno.EINVAL, count + " frames from " + first + " of " + d.pages);
        }
        int[] frames = new int[count];
        int n = 0;
        for (int f = first; f < first + count; f++) if (!d.released.get(f)) frames[n++] = f;
        try {
            punch(d, frames, n);
        } catch (IOException e) {
            throw new HypercallException(Errno.ENOMEM, "leaving frames unpopulated: " + e.getMessage());
        }
        for (int i = 0; i < n; i++) d.released.set(frames[i]);
        d.releasedCount += n;
    }

    /** Holes for the first {@code count} of {@code frames}, one per run of consecutive frames. */
    private static void punch(Domain d, int[] frames, int count) throws IOException {
        for (int i = 0; i < count; ) {
            int run = 1;
            while (i + run < count && frames[i + run] == frames[i] + run) run++;
            long off = (long) frames[i] * GrantEntry.PAGE_SIZE;
            long len = (long) run * GrantEntry.PAGE_SIZE;
            // Through the hypervisor's own mapping, no descriptor needed; the file's fallocate if that is refused.
            if (Libc.madvise(d.memory.segment(), off, len, MADV_REMOVE) != 0) d.memory.punch(off, len);
            i += run;
        }
    }

    private static void checkCount(int[] frames) throws HypercallException {
        if (frames.length > MAX_EXTENTS) {
            throw new HypercallException(Errno.EINVAL, frames.length + " extents (at most " + MAX_EXTENTS + ")");
        }
    }
}
