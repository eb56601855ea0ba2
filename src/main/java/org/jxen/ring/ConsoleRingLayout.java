package org.jxen.ring;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A flyweight over the 4 KiB console page of Xen's public/io/console.h (struct xencons_interface):
 * {@code char in[1024]; char out[2048]; u32 in_cons, in_prod, out_cons, out_prod; u8 connection}. Every offset
 * lives here; the two rings are {@link ByteRing}s (MASK_XENCONS_IDX is its slot mask).
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

    private final MemorySegment page;
    private final ByteRing out;
    private final ByteRing in;

    /** The page must be at least 4096 bytes and 4-byte aligned (atomic index access needs aligned fields). */
    public ConsoleRingLayout(MemorySegment page) {
        if (page.byteSize() < PAGE_SIZE) throw new IllegalArgumentException("console page is " + page.byteSize() + " bytes");
        if (page.address() % 4 != 0) throw new IllegalArgumentException("console page is not 4-byte aligned");
        this.page = page;
        this.out = new ByteRing(page, "console out", OUT_OFFSET, OUT_SIZE, OUT_CONS_OFFSET, OUT_PROD_OFFSET);
        this.in = new ByteRing(page, "console in", IN_OFFSET, IN_SIZE, IN_CONS_OFFSET, IN_PROD_OFFSET);
    }

    /** Guest to dom0 (the guest's console output): the guest produces, xenconsoled consumes. */
    public ByteRing out() {
        return out;
    }

    /** dom0 to guest (keyboard input): xenconsoled produces, the guest consumes. */
    public ByteRing in() {
        return in;
    }

    public int connection() {
        return page.get(ValueLayout.JAVA_BYTE, CONNECTION_OFFSET);
    }

    public void setConnection(int v) {
        page.set(ValueLayout.JAVA_BYTE, CONNECTION_OFFSET, (byte) v);
    }
}
