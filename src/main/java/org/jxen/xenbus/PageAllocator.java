package org.jxen.xenbus;

import java.lang.foreign.MemorySegment;

/**
 * What xenbus needs of the kernel's page allocator: whole 4 KiB frames of the domain's own memory for shared
 * rings, and the frame number a grant entry names.
 */
public interface PageAllocator {
    /** A zeroed page; ENOMEM (an UncheckedIOException of a XenbusException) when the domain's memory is exhausted. */
    MemorySegment alloc();

    void free(MemorySegment page);

    /** The frame number of a page of this domain's memory. */
    int frameOf(MemorySegment page);
}
