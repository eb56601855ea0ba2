package org.jxen.kernel;

import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.GrantEntry;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.xenbus.PageAllocator;
import org.jxen.xenbus.XenbusException;

/**
 * The kernel's page allocator, as far as drivers need one: whole 4 KiB frames of the domain's memory for
 * shared rings. Frames 0 and 1 (console and xenstore pages, granted by the toolstack) and the kernel record's
 * area at the top ({@link KernelRecord#area}) are never handed out.
 */
final class FrameAllocator implements PageAllocator {
    private static final int FIRST_FREE = Math.max(DomainLayout.CONSOLE_FRAME, DomainLayout.XENSTORE_FRAME) + 1;

    private final Hypercalls hc;
    private final BitSet used = new BitSet();

    /** The frames the domain did not start with (MemoryMap): never handed out until the balloon has them again. */
    private final int[] unpopulatedAtBoot;

    FrameAllocator(Hypercalls hc) {
        this.hc = hc;
        this.unpopulatedAtBoot = hc == null ? new int[0] : MemoryMap.unpopulatedAtBoot(hc.layout());
        for (int f : unpopulatedAtBoot) used.set(f);
        givenBack = unpopulatedAtBoot.length;
    }

    /** Of the frames marked used, those the hypervisor has (never populated, or taken for the balloon). */
    private int givenBack;

    /** The frames the domain did not start with, held for the balloon driver, which may populate them. */
    int[] unpopulatedAtBoot() {
        return unpopulatedAtBoot.clone();
    }

    /** A zeroed page; ENOMEM (an UncheckedIOException of a XenbusException) when the domain's memory is exhausted. */
    @Override
    public synchronized MemorySegment alloc() {
        int frame = used.nextClearBit(FIRST_FREE);
        // The top frames hold the kernel record at suspend (KernelRecord): never a ring's.
        if (frame >= KernelRecord.areaFirstFrame(hc.layout().memoryPages())) {
            throw new UncheckedIOException(new XenbusException(Errno.ENOMEM,
                    "out of memory: all " + hc.layout().memoryPages() + " frames of the domain are in use"
                            + (givenBack > 0 ? " (" + givenBack + " of them given back to the hypervisor)" : "")));
        }
        used.set(frame);
        MemorySegment page = hc.frame(frame);
        page.fill((byte) 0);
        return page;
    }

    @Override
    public synchronized void free(MemorySegment page) {
        int frame = frameOf(page);
        if (!used.get(frame)) throw new IllegalArgumentException("frame " + frame + " is not allocated");
        used.clear(frame);
    }

    /**
     * Up to {@code max} free frames, taken as they are (not zeroed: they are about to go back to the hypervisor,
     * the balloon's alloc_page for decrease_reservation), leaving at least {@code keepFree} free; fewer, or none,
     * when the domain has no more to spare.
     */
    synchronized int[] take(int max, int keepFree) {
        int limit = KernelRecord.areaFirstFrame(hc.layout().memoryPages());
        int free = (limit - FIRST_FREE) - used.get(FIRST_FREE, limit).cardinality();
        max = Math.max(0, Math.min(max, free - keepFree));
        int[] out = new int[max];
        int n = 0;
        for (int f = used.nextClearBit(FIRST_FREE); n < max && f < limit; f = used.nextClearBit(f + 1)) {
            used.set(f);
            out[n++] = f;
        }
        givenBack += n;
        return n == max ? out : java.util.Arrays.copyOf(out, n);
    }

    /**
     * Linux's show_mem summary in pages: RAM (the domain's frames less those the hypervisor has), reserved (the
     * ring frames below the first free one and the kernel record's area), free, and ballooned out.
     */
    synchronized java.util.List<String> showMem() {
        int pages = hc.layout().memoryPages();
        int limit = KernelRecord.areaFirstFrame(pages);
        int free = (limit - FIRST_FREE) - used.get(FIRST_FREE, limit).cardinality();
        return java.util.List.of("Mem-Info:", (pages - givenBack) + " pages RAM", (FIRST_FREE + pages - limit) + " pages reserved",
                free + " pages free", givenBack + " pages ballooned out");
    }

    /** Frames taken by {@link #take} free again (the balloon populated them again). */
    synchronized void release(int[] frames, int count) {
        for (int i = 0; i < count; i++) {
            if (!used.get(frames[i])) throw new IllegalArgumentException("frame " + frames[i] + " is not allocated");
            used.clear(frames[i]);
        }
        givenBack -= count;
    }

    /** The frame number of a page of this domain's memory (what a grant entry names). */
    @Override
    public int frameOf(MemorySegment page) {
        long offset = page.address() - hc.memory().address();
        if (offset < 0 || offset % GrantEntry.PAGE_SIZE != 0 || offset >= hc.memory().byteSize()) {
            throw new IllegalArgumentException("not a page of this domain's memory");
        }
        return (int) (offset / GrantEntry.PAGE_SIZE);
    }
}
