package org.jxen.hypervisor;

import java.io.IOException;
import java.util.BitSet;
import org.jxen.libc.Libc;
import org.jxen.libc.Uffd;

/**
 * A domain's log-dirty mode (Xen's paging log-dirty, XEN_DOMCTL_SHADOW_OP_CLEAN): which of its frames were
 * written since the last look. Two sources, as in Xen, where the guest's own writes are caught by the MMU and
 * the hypervisor marks what it and the backends write:
 * <ul>
 * <li>the guest's own writes, through its kernel's mapping of its memory (in the host's process or its own),
 * which that mapping's owner registered for asynchronous write protection ({@link Uffd}) when it mapped it:
 * each look is a PAGEMAP_SCAN of that process's pagemap, which reports the written pages and protects them again
 * in one walk;</li>
 * <li>writes made by the hypervisor into the domain's memory through other mappings: a grant copy into one of its
 * pages (as gnttab_copy's paging_mark_dirty), and pages it granted writable to a mapper, which count as written
 * while mapped and once more at the unmap (gnttab's unmap marks the frame dirty).</li>
 * </ul>
 * Guarded by the hypervisor's lock.
 */
final class LogDirty {
    private final Domain domain;
    private final int pagemap;
    private final long address;
    /** Frames the hypervisor wrote or saw unmapped since the last look. */
    private final BitSet marked = new BitSet();

    private LogDirty(Domain domain, int pagemap, long address) {
        this.domain = domain;
        this.pagemap = pagemap;
        this.address = address;
    }

    /** Starts tracking: every page is protected, so that the first look reports what was written since now. */
    static LogDirty enable(Domain d) throws IOException {
        if (d.mapperPid <= 0) throw new IOException("domain " + d.id + "'s kernel has not mapped its memory");
        if (!d.mapperTracked) {
            throw new IOException("domain " + d.id + "'s memory mapping has no write tracking (userfaultfd refused)");
        }
        String path = "/proc/" + d.mapperPid + "/pagemap";
        int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0) throw new IOException("cannot open " + path + " (errno " + -fd + ")");
        LogDirty log = new LogDirty(d, fd, d.mapperAddress);
        try {
            log.scan(new BitSet());
        } catch (IOException e) {
            Libc.close(fd);
            throw e;
        }
        return log;
    }

    void mark(int frame) {
        marked.set(frame);
    }

    /** The frames written since the last call (or since {@link #enable}); tracking goes on. */
    BitSet clean() throws IOException {
        BitSet dirty = new BitSet(domain.pages);
        scan(dirty);
        dirty.or(marked);
        marked.clear();
        for (int frame : domain.writableMaps.keySet()) dirty.set(frame);
        return dirty;
    }

    private void scan(BitSet into) throws IOException {
        int rc = Uffd.scanWrittenAndProtect(pagemap, address, (long) domain.pages * GrantEntry.PAGE_SIZE, into);
        if (rc != 0) throw new IOException("PAGEMAP_SCAN of domain " + domain.id + "'s memory failed (errno " + rc + ")");
    }

    void close() {
        Libc.close(pagemap);
    }
}
