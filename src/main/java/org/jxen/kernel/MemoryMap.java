package org.jxen.kernel;

import org.jxen.hypervisor.DomainLayout;

/**
 * A jxen guest's physical memory map, what the domain builder and the kernel agree on (a PV guest's p2m and
 * start_info): frame 0 the console page, frame 1 the xenstore page, the kernel record's area at the top
 * ({@link KernelRecord#area}), and, for a domain built larger than it starts ({@code maxmem} above
 * {@code memory}), the frames it does not start with just below that area, which the toolstack leaves unpopulated
 * and the balloon driver may populate later.
 */
public final class MemoryMap {
    private MemoryMap() {}

    /** How many frames a domain of {@code pages} frames starting with {@code nrPages} of them lacks at boot. */
    public static int unpopulatedCount(int pages, int nrPages) {
        if (nrPages > pages) throw new IllegalArgumentException(nrPages + " pages of " + pages);
        int count = pages - nrPages;
        if (count > KernelRecord.areaFirstFrame(pages) - 2) {
            throw new IllegalArgumentException("a domain of " + pages + " frames cannot start with only " + nrPages);
        }
        return count;
    }

    /** The first frame it lacks at boot (the rest follow, up to the record's area). */
    public static int unpopulatedFirst(int pages, int nrPages) {
        return KernelRecord.areaFirstFrame(pages) - unpopulatedCount(pages, nrPages);
    }

    /** The frames the domain of {@code layout} lacks at boot. */
    static int[] unpopulatedAtBoot(DomainLayout layout) {
        int pages = layout.memoryPages();
        int nr = Math.min(layout.nrPages(), pages);
        int count = unpopulatedCount(pages, nr);
        int first = unpopulatedFirst(pages, nr);
        int[] frames = new int[count];
        for (int i = 0; i < count; i++) frames[i] = first + i;
        return frames;
    }
}
