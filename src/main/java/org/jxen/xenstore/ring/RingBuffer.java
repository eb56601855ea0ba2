package org.jxen.xenstore.ring;

import java.lang.foreign.MemorySegment;

/**
 * One direction of the xenstore page: 1024 data bytes and free-running u32 (cons, prod) indices, slot =
 * idx &amp; 1023. Both indices are re-read from the page on every call, because the peer can change them at any
 * time; each call validates the pair first, so a peer's garbage surfaces as {@link RingIndexException} instead
 * of out-of-ring reads. Each end calls only its own half: {@link #write} as producer, {@link #read} as consumer.
 */
public final class RingBuffer {
    private static final int SIZE = XenStoreRingLayout.XENSTORE_RING_SIZE;
    private static final int MASK = SIZE - 1;

    private final XenStoreRingLayout layout;
    private final String name;
    private final long dataOffset;
    private final long consOffset;
    private final long prodOffset;

    RingBuffer(XenStoreRingLayout layout, String name, long dataOffset, long consOffset, long prodOffset) {
        this.layout = layout;
        this.name = name;
        this.dataOffset = dataOffset;
        this.consOffset = consOffset;
        this.prodOffset = prodOffset;
    }

    /** Bytes written but not yet consumed. */
    public int used() throws RingIndexException {
        return used(layout.load(consOffset), layout.load(prodOffset));
    }

    /** Bytes a producer may write now. */
    public int free() throws RingIndexException {
        return SIZE - used();
    }

    private int used(int cons, int prod) throws RingIndexException {
        int used = prod - cons;
        // Unsigned: prod behind cons is as bogus as prod more than a ring ahead.
        if (Integer.compareUnsigned(used, SIZE) > 0) throw new RingIndexException(name, cons, prod);
        return used;
    }

    /** Producer side: copies as much of {@code src[off, off+len)} as fits, publishes it, returns the count. */
    public int write(byte[] src, int off, int len) throws RingIndexException {
        int cons = layout.load(consOffset);
        int prod = layout.load(prodOffset);
        int n = Math.min(len, SIZE - used(cons, prod));
        copy(src, off, n, prod, true);
        if (n > 0) layout.store(prodOffset, prod + n);
        return n;
    }

    /** Consumer side: copies up to {@code len} available bytes into {@code dst}, frees them, returns the count. */
    public int read(byte[] dst, int off, int len) throws RingIndexException {
        int prod = layout.load(prodOffset);
        int cons = layout.load(consOffset);
        int n = Math.min(len, used(cons, prod));
        copy(dst, off, n, cons, false);
        if (n > 0) layout.store(consOffset, cons + n);
        return n;
    }

    /** Copies {@code n} bytes between the array and the ring starting at index {@code idx}, across the wrap. */
    private void copy(byte[] array, int off, int n, int idx, boolean toRing) {
        MemorySegment page = layout.page();
        int done = 0;
        while (done < n) {
            int slot = (idx + done) & MASK;
            int chunk = Math.min(n - done, SIZE - slot);
            MemorySegment ring = page.asSlice(dataOffset + slot, chunk);
            MemorySegment heap = MemorySegment.ofArray(array).asSlice(off + done, chunk);
            if (toRing) ring.copyFrom(heap);
            else heap.copyFrom(ring);
            done += chunk;
        }
    }
}
