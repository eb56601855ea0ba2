package org.jxen.drivers.net.back;

import java.lang.foreign.MemorySegment;
import org.jxen.drivers.net.Netif;
import org.jxen.hypervisor.CopyBatch;
import org.jxen.hypervisor.GrantCopy;
import org.jxen.xenbus.Xenbus;

/**
 * Pages of dom0's own memory that hold one packet while it is grant-copied to or from the guest: the copy
 * hypercall moves data between a grant and a frame of the caller's memory, within one page on each side, so a
 * packet is staged here (17 pages: a 64 KiB packet at any offset). The copy ops are split where either side
 * crosses a page. Pages are taken from dom0's memory as packets need them (a queue of 1500-byte frames holds one
 * page a direction; a 64 KiB packet makes it 17), so a host with many vifs does not reserve 17 pages for each.
 */
final class Staging implements AutoCloseable {
    static final int PAGES = 17;

    private final Xenbus xenbus;
    private final MemorySegment[] pages = new MemorySegment[PAGES];
    private final int[] frames = new int[PAGES];
    private final int guest;
    private int held;

    Staging(Xenbus xenbus, int guest) {
        this.xenbus = xenbus;
        this.guest = guest;
    }

    /** Makes room for {@code bytes}; false if dom0 is out of memory (the packet is then dropped). */
    boolean ensure(long bytes) {
        int want = (int) Math.min(PAGES, Math.max(1, (bytes + Netif.PAGE_SIZE - 1) / Netif.PAGE_SIZE));
        long base = xenbus.hypercalls().memory().address();
        try {
            for (; held < want; held++) {
                pages[held] = xenbus.allocPage();
                frames[held] = (int) ((pages[held].address() - base) / Netif.PAGE_SIZE);
            }
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    int capacity() {
        return PAGES * Netif.PAGE_SIZE;
    }

    /** Copies {@code src} into the staging pages from byte 0. */
    void fill(MemorySegment src) {
        long n = src.byteSize();
        for (long done = 0; done < n; ) {
            int page = (int) (done / Netif.PAGE_SIZE);
            long chunk = Math.min(n - done, Netif.PAGE_SIZE);
            MemorySegment.copy(src, done, pages[page], 0, chunk);
            done += chunk;
        }
    }

    /** Staging bytes [0, n) as page slices in {@code out}: how many. */
    int pieces(long n, MemorySegment[] out) {
        int k = 0;
        for (long done = 0; done < n; k++) {
            long chunk = Math.min(n - done, Netif.PAGE_SIZE);
            out[k] = pages[k].asSlice(0, chunk);
            done += chunk;
        }
        return k;
    }

    /** Copies staging bytes [0, n) into {@code dst}. */
    void drain(MemorySegment dst, long n) {
        for (long done = 0; done < n; ) {
            int page = (int) (done / Netif.PAGE_SIZE);
            long chunk = Math.min(n - done, Netif.PAGE_SIZE);
            MemorySegment.copy(pages[page], 0, dst, done, chunk);
            done += chunk;
        }
    }

    /** Ops copying {@code len} bytes of the guest's grant {@code ref} at {@code off} to staging byte {@code at}. */
    int fromGuest(CopyBatch b, int ref, int off, int len, int at) {
        int ops = 0;
        while (len > 0) {
            int inPage = at % Netif.PAGE_SIZE;
            int n = Math.min(len, Netif.PAGE_SIZE - inPage);
            b.add(new GrantCopy(new GrantCopy.Ref(guest, ref, off), new GrantCopy.Frame(frames[at / Netif.PAGE_SIZE], inPage), n));
            off += n;
            at += n;
            len -= n;
            ops++;
        }
        return ops;
    }

    /** Ops copying {@code len} staging bytes from {@code at} into the guest's grant {@code ref} at {@code off}. */
    int toGuest(CopyBatch b, int at, int ref, int off, int len) {
        int ops = 0;
        while (len > 0) {
            int inPage = at % Netif.PAGE_SIZE;
            int n = Math.min(len, Netif.PAGE_SIZE - inPage);
            b.add(new GrantCopy(new GrantCopy.Frame(frames[at / Netif.PAGE_SIZE], inPage), new GrantCopy.Ref(guest, ref, off), n));
            off += n;
            at += n;
            len -= n;
            ops++;
        }
        return ops;
    }

    @Override
    public void close() {
        for (int i = 0; i < held; i++) {
            xenbus.freePage(pages[i]);
            pages[i] = null;
        }
        held = 0;
    }
}
