package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/**
 * The granting side of a domain's grant table (Linux's gnttab_grant_foreign_access / end_foreign_access). The
 * domain writes its entries itself; only the size limit is a hypercall (GNTTABOP_setup_table). Refs below
 * {@link #NR_RESERVED_ENTRIES} are never handed out: 0 and 1 are the console and xenstore pages the toolstack
 * granted, and Linux keeps 2..7 in reserve as well.
 */
public final class GrantTable {
    public static final int NR_RESERVED_ENTRIES = 8;
    public static final int DEFAULT_FRAMES = 4;
    public static final int MAX_FRAMES = 32;
    /** Maptrack handles per frame: a page of Xen's 16-byte struct grant_mapping. */
    public static final int MAPTRACK_PER_FRAME = 256;
    /** Xen 4.17's gnttab_max_maptrack_frames default: 262144 grant mappings per domain. */
    public static final int DEFAULT_MAPTRACK_FRAMES = 1024;
    public static final int MAX_ENTRIES = MAX_FRAMES * GrantEntry.ENTRIES_PER_FRAME;
    public static final long FILE_SIZE = (long) MAX_FRAMES * GrantEntry.PAGE_SIZE;

    private final MemorySegment table;
    private final ControlPlane control;
    private final BitSet inUse = new BitSet();
    private int frames = DEFAULT_FRAMES;

    GrantTable(MemorySegment table, ControlPlane control) {
        this.table = table;
        this.control = control;
    }

    /** Grants {@code domid} access to {@code frame}; grows the table when full, ENOSPC at {@link #MAX_FRAMES}. */
    public synchronized int grantAccess(int domid, int frame, boolean readonly) throws HypercallException {
        int ref = inUse.nextClearBit(NR_RESERVED_ENTRIES);
        if (ref >= entries()) {
            if (frames >= MAX_FRAMES) throw new HypercallException(Errno.ENOSPC, "grant table full");
            frames = control.setGrantFrames(frames + 1);
        }
        inUse.set(ref);
        GrantEntry.grant(table, ref, domid, frame, readonly);
        return ref;
    }

    /** Writes a reserved entry (the toolstack's job for refs 0 and 1; exposed for a domain re-granting them). */
    public void grantReserved(int ref, int domid, int frame, boolean readonly) {
        if (ref < 0 || ref >= NR_RESERVED_ENTRIES) throw new IllegalArgumentException("not reserved: " + ref);
        GrantEntry.grant(table, ref, domid, frame, readonly);
    }

    /** False while the grant is mapped or being copied; the ref stays allocated until this succeeds. */
    public synchronized boolean endAccess(int ref) {
        if (ref < 0 || ref >= entries()) throw new IllegalArgumentException("bad ref " + ref);
        if (!GrantEntry.endAccess(table, ref)) return false;
        if (ref >= NR_RESERVED_ENTRIES) inUse.clear(ref);
        return true;
    }

    public synchronized int entries() {
        return frames * GrantEntry.ENTRIES_PER_FRAME;
    }

    /** flags (low 16 bits) and domid (high 16 bits) of an entry, e.g. to watch GTF_reading. */
    public int flagsAndDomid(int ref) {
        return GrantEntry.flagsAndDomid(table, ref);
    }
}
