package org.jxen.ring;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * One direction of a Xen byte ring: the xenstore page's request and response rings (xenstore-ring.txt) and the
 * console page's in and out rings (io/console.h) follow the same rules. A power-of-two data area and two
 * free-running little-endian u32 indices; slot = idx &amp; (size - 1). A producer copies the bytes in, then
 * release-stores prod; a consumer acquire-loads prod, copies the bytes out, then release-stores cons (the
 * virt_wmb()/virt_mb() pairs of the C ends).
 *
 * <p>Both indices are re-read from the page on every call, because the peer can change them at any time, and
 * every call validates the pair first: a peer's garbage surfaces as {@link RingIndexException} (XSA-38), never
 * as a read or write outside the ring. What to do then is the caller's choice: xenstored closes the
 * connection, xenconsoled ignores the ring until it is sane again. Each end calls only its own half:
 * {@link #write} as producer, {@link #read} as consumer.
 */
public final class ByteRing {
    private static final VarHandle U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MemorySegment page;
    private final String name;
    private final long dataOffset;
    private final int size;
    private final long consOffset;
    private final long prodOffset;

    /** The page must be 4-byte aligned (atomic index access); {@code size} a power of two. */
    public ByteRing(MemorySegment page, String name, long dataOffset, int size, long consOffset, long prodOffset) {
        if (Integer.bitCount(size) != 1) throw new IllegalArgumentException("ring size " + size);
        if (dataOffset + size > page.byteSize() || consOffset + 4 > page.byteSize() || prodOffset + 4 > page.byteSize()) {
            throw new IllegalArgumentException(name + " ring does not fit its page");
        }
        this.page = page;
        this.name = name;
        this.dataOffset = dataOffset;
        this.size = size;
        this.consOffset = consOffset;
        this.prodOffset = prodOffset;
    }

    public int size() {
        return size;
    }

    public int cons() {
        return (int) U32.getAcquire(page, consOffset);
    }

    public int prod() {
        return (int) U32.getAcquire(page, prodOffset);
    }

    /** Bytes written but not yet consumed. */
    public int used() throws RingIndexException {
        return used(cons(), prod());
    }

    /** Bytes a producer may write now. */
    public int free() throws RingIndexException {
        return size - used();
    }

    private int used(int cons, int prod) throws RingIndexException {
        int used = prod - cons;
        // Unsigned: prod behind cons is as bogus as prod more than a ring ahead.
        if (Integer.compareUnsigned(used, size) > 0) throw new RingIndexException(name, cons, prod);
        return used;
    }

    /** Producer: copies as much of {@code src[off, off+len)} as fits, publishes it, returns the count (0: full). */
    public int write(byte[] src, int off, int len) throws RingIndexException {
        int cons = cons();
        int prod = (int) U32.get(page, prodOffset);
        int n = Math.min(len, size - used(cons, prod));
        copy(src, off, n, prod, true);
        if (n > 0) U32.setRelease(page, prodOffset, prod + n);
        return n;
    }

    /** Consumer: copies up to {@code len} available bytes into {@code dst}, frees them, returns the count. */
    public int read(byte[] dst, int off, int len) throws RingIndexException {
        int prod = prod();
        int cons = (int) U32.get(page, consOffset);
        int n = Math.min(len, used(cons, prod));
        copy(dst, off, n, cons, false);
        if (n > 0) U32.setRelease(page, consOffset, cons + n);
        return n;
    }

    /**
     * Consumer that frees later: copies up to {@code len} bytes from index {@code from} (between cons and prod)
     * without freeing them, returns the count. A {@code from} outside that window is a ring-index error.
     */
    public int peek(int from, byte[] dst, int off, int len) throws RingIndexException {
        int prod = prod();
        int cons = (int) U32.get(page, consOffset);
        int used = used(cons, prod);
        int skipped = from - cons;
        if (Integer.compareUnsigned(skipped, used) > 0) throw new RingIndexException(name, cons, prod);
        int n = Math.min(len, used - skipped);
        copy(dst, off, n, from, false);
        return n;
    }

    /** Consumer: frees everything before index {@code cons} (after {@link #peek}). */
    public void release(int cons) {
        U32.setRelease(page, consOffset, cons);
    }

    /** Copies {@code n} bytes between the array and the ring starting at index {@code idx}, across the wrap. */
    private void copy(byte[] array, int off, int n, int idx, boolean toRing) {
        int done = 0;
        while (done < n) {
            int slot = (idx + done) & (size - 1);
            int chunk = Math.min(n - done, size - slot);
            if (toRing) MemorySegment.copy(array, off + done, page, ValueLayout.JAVA_BYTE, dataOffset + slot, chunk);
            else MemorySegment.copy(page, ValueLayout.JAVA_BYTE, dataOffset + slot, array, off + done, chunk);
            done += chunk;
        }
    }
}
