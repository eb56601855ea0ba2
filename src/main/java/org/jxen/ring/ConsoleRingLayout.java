package org.jxen.ring;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A flyweight over the 4 KiB console page of Xen's public/io/console.h (struct xencons_interface):
 * {@code char in[1024]; char out[2048]; u32 in_cons, in_prod, out_cons, out_prod; u8 connection}. Every offset
 * lives here. Indices are free-running u32s masked by the ring size (MASK_XENCONS_IDX); a producer writes the
 * bytes then release-stores prod, a consumer acquire-loads prod, copies the bytes out, then release-stores cons,
 * which is what the virt_wmb()/virt_mb() pairs of hvc_xen and xenconsoled amount to. Little-endian as on every
 * Xen platform.
 */
public final class ConsoleRingLayout {
    public static final int PAGE_SIZE = 4096;
    public static final long IN_OFFSET = 0;
    public static final int IN_SIZE = 1024;
    public static final long OUT_OFFSET = 1024;
    public static final int OUT_SIZE = 2048;
    public static final long IN_CONS_OFFSET = 3072;
    public static final long IN_PROD_OFFSET = 3076;
    public static final long OUT_CONS_OFFSET = 3080;
    public static final long OUT_PROD_OFFSET = 3084;
    /** u8 connection: XENCONSOLE_CONNECTED 0, XENCONSOLE_DISCONNECTED 1 (newer Xen; the back end sets it). */
    public static final long CONNECTION_OFFSET = 3088;

    private static final VarHandle U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MemorySegment page;
    private final ByteRing out;
    private final ByteRing in;

    /** The page must be at least 4096 bytes and 4-byte aligned (atomic index access needs aligned fields). */
    public ConsoleRingLayout(MemorySegment page) {
        if (page.byteSize() < PAGE_SIZE) throw new IllegalArgumentException("console page is " + page.byteSize() + " bytes");
        if (page.address() % 4 != 0) throw new IllegalArgumentException("console page is not 4-byte aligned");
        this.page = page;
        this.out = new ByteRing(OUT_OFFSET, OUT_SIZE, OUT_CONS_OFFSET, OUT_PROD_OFFSET);
        this.in = new ByteRing(IN_OFFSET, IN_SIZE, IN_CONS_OFFSET, IN_PROD_OFFSET);
    }

    /** Guest to dom0 (the guest's console output): the guest produces, xenconsoled consumes. */
    public ByteRing out() {
        return out;
    }

    /** dom0 to guest (keyboard input): xenconsoled produces, the guest consumes. */
    public ByteRing in() {
        return in;
    }

    /** One of the two byte rings; each side uses only its own half of the methods. */
    public final class ByteRing {
        private final long data;
        private final int size;
        private final long consOffset;
        private final long prodOffset;

        private ByteRing(long data, int size, long consOffset, long prodOffset) {
            this.data = data;
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

        /** Bytes written and not yet consumed; 0 when the indices are inconsistent (more than size apart). */
        public int used() {
            int used = prod() - cons();
            return Integer.compareUnsigned(used, size) > 0 ? 0 : used;
        }

        /**
         * Producer: copies as many of {@code len} bytes as fit and publishes them; returns how many (0 when the
         * ring is full). Indices a peer left more than a ring apart count as full: nothing is written.
         */
        public int write(byte[] src, int off, int len) {
            int cons = cons();
            int prod = (int) U32.get(page, prodOffset);
            int used = prod - cons;
            if (Integer.compareUnsigned(used, size) > 0) return 0;
            int n = Math.min(len, size - used);
            copy(n, prod, (at, chunk, done) -> MemorySegment.copy(src, off + done, page, ValueLayout.JAVA_BYTE, at, chunk));
            U32.setRelease(page, prodOffset, prod + n);
            return n;
        }

        /**
         * Consumer: copies up to {@code len} available bytes out and frees them; returns how many. A producer
         * index more than a ring ahead is ignored as xenconsoled's buffer_append does (nothing is read).
         */
        public int read(byte[] dst, int off, int len) {
            int prod = prod();
            int cons = (int) U32.get(page, consOffset);
            int avail = prod - cons;
            if (Integer.compareUnsigned(avail, size) > 0) return 0;
            int n = Math.min(len, avail);
            copy(n, cons, (at, chunk, done) -> MemorySegment.copy(page, ValueLayout.JAVA_BYTE, at, dst, off + done, chunk));
            U32.setRelease(page, consOffset, cons + n);
            return n;
        }

        private interface Chunk {
            void copy(long pageOffset, int length, int done);
        }

        /** Splits n bytes starting at free-running index idx at the ring's wrap point. */
        private void copy(int n, int idx, Chunk chunk) {
            int done = 0;
            while (done < n) {
                int pos = (idx + done) & (size - 1);
                int len = Math.min(n - done, size - pos);
                chunk.copy(data + pos, len, done);
                done += len;
            }
        }
    }

    public int connection() {
        return page.get(ValueLayout.JAVA_BYTE, CONNECTION_OFFSET);
    }

    public void setConnection(int v) {
        page.set(ValueLayout.JAVA_BYTE, CONNECTION_OFFSET, (byte) v);
    }
}
