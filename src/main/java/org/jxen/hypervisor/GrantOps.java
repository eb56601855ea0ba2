package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.function.IntFunction;

/**
 * Map, unmap and copy, run under the hypervisor's lock. A grant is "pinned" while a mapping or a copy uses it:
 * the pin counts live in the granter's {@link Domain}, the GTF_reading/GTF_writing bits they imply live in the
 * granter's entry, where the granter's end-access CAS sees them. A copy ({@link CopyLoop}) pins a grant while
 * consecutive ops of its batch use it, as Xen's acquire_grant_for_copy/release_grant_for_copy with
 * gnttab_copy's buffers do.
 *
 * <p>Pinning reports failure as a negative GNTST code instead of throwing, so that a batch of copies runs
 * without an exception, a record or a page slice per op; map and unmap turn the code into a GrantException.
 */
final class GrantOps {
    private GrantOps() {
    }

    /** Pins a grant for {@code mapper}: its frame (>= 0), or a GNTST code (< 0) with nothing changed. */
    static int pin(Domain granter, int ref, int mapper, boolean readonly) {
        if (granter == null || !granter.alive()) return GrantStatus.BAD_DOMAIN.code;
        if (ref < 0 || ref >= granter.grantEntries()) return GrantStatus.BAD_GNTREF.code;
        int frame = pinEntry(granter.grantFile.segment(), granter.readers, granter.writers, granter.pages, ref, mapper,
                readonly);
        // A frame the granter gave back (MemoryOps) has no page: Xen's gfn-to-page lookup fails, bad_page.
        if (frame >= 0 && granter.releasedCount != 0 && granter.released.get(frame)) {
            unpinEntry(granter.grantFile.segment(), granter.readers, granter.writers, ref, readonly);
            return GrantStatus.BAD_PAGE.code;
        }
        return frame;
    }

    /**
     * Pins entry {@code ref} (in bounds) of a live granter's {@code table}, whose pin counts are {@code readers}
     * and {@code writers} and whose memory has {@code pages} frames: type, domid and read-only flag are checked
     * and GTF_reading (and GTF_writing) set by one CAS on the flags/domid word, so a concurrent end-access by the
     * granter either comes first (and the pin fails) or fails itself. The frame is read after the CAS, as Xen
     * does: read before it, an entry ended and granted anew in between could yield the old frame.
     *
     * <p>Takes the granter's parts rather than its {@link Domain} so a copy batch can look them up once per
     * granter: the copy loop runs right after a 4 KiB copy, whose pending stores make every dependent load
     * (domain, file, segment) slow.
     */
    static int pinEntry(MemorySegment table, int[] readers, int[] writers, int pages, int ref, int mapper,
                        boolean readonly) {
        while (true) {
            int v = GrantEntry.flagsAndDomid(table, ref);
            int flags = GrantEntry.flags(v);
            if ((flags & GrantEntry.GTF_TYPE_MASK) != GrantEntry.GTF_PERMIT_ACCESS || GrantEntry.domid(v) != mapper) {
                return GrantStatus.GENERAL_ERROR.code;
            }
            if (!readonly && (flags & GrantEntry.GTF_READONLY) != 0) return GrantStatus.GENERAL_ERROR.code;
            int update = v | GrantEntry.GTF_READING | (readonly ? 0 : GrantEntry.GTF_WRITING);
            // Already set by another pin: Xen skips the shared-entry update while the active entry is pinned.
            if (update == v || GrantEntry.compareAndSet(table, ref, v, update)) break;
        }
        readers[ref]++;
        if (!readonly) writers[ref]++;
        int frame = GrantEntry.frame(table, ref);
        if (frame < 0 || frame >= pages) {
            unpinEntry(table, readers, writers, ref, readonly);
            return GrantStatus.BAD_PAGE.code;
        }
        return frame;
    }

    /** Drops a pin; the last writer clears GTF_writing, the last user GTF_reading. */
    static void unpin(Domain granter, int ref, boolean readonly) {
        unpinEntry(granter.grantFile.segment(), granter.readers, granter.writers, ref, readonly);
    }

    /** {@link #unpin} on the granter's parts, as {@link #pinEntry} takes them. */
    static void unpinEntry(MemorySegment table, int[] readers, int[] writers, int ref, boolean readonly) {
        int clear = 0;
        if (!readonly && --writers[ref] == 0) clear |= GrantEntry.GTF_WRITING;
        if (--readers[ref] == 0) clear |= GrantEntry.GTF_READING;
        if (clear != 0) GrantEntry.clearFlags(table, ref, clear);
    }

    static MapReply map(Domain mapper, Domain granter, int ref, boolean readonly) throws GrantException {
        // get_maptrack_handle: a mapper out of handles fails before touching the grant (GNTST_no_space).
        if ((long) mapper.maptrack.size() >= (long) mapper.maxMaptrackFrames * GrantTable.MAPTRACK_PER_FRAME) {
            throw new GrantException(GrantStatus.NO_SPACE, "d" + mapper.id + " has no maptrack handle left ("
                    + mapper.maptrack.size() + " mappings, max_maptrack_frames " + mapper.maxMaptrackFrames + ")");
        }
        int frame = pin(granter, ref, mapper.id, readonly);
        if (frame < 0) {
            throw new GrantException(GrantStatus.of(frame), "ref " + ref + " of d"
                    + (granter == null ? "?" : granter.id) + " for d" + mapper.id + (readonly ? " (ro)" : " (rw)"));
        }
        int handle = mapper.nextHandle++;
        mapper.maptrack.put(handle, new MapTrack(granter, ref, readonly, frame));
        if (!readonly) granter.writableMaps.merge(frame, 1, Integer::sum);
        // The mapper's page must outlive the granter: keep its files until the unmap.
        granter.memory.retain();
        granter.grantFile.retain();
        return new MapReply(handle, granter.memory.path(), frame,
                granter.memory.segment().asSlice((long) frame * GrantEntry.PAGE_SIZE, GrantEntry.PAGE_SIZE));
    }

    static void unmap(Domain mapper, int handle) throws GrantException {
        MapTrack t = mapper.maptrack.remove(handle);
        if (t == null) throw new GrantException(GrantStatus.BAD_HANDLE, "handle " + handle);
        release(t);
    }

    static void unmapAll(Domain mapper) {
        mapper.maptrack.values().forEach(GrantOps::release);
        mapper.maptrack.clear();
    }

    private static void release(MapTrack t) {
        unpin(t.granter(), t.ref(), t.readonly());
        if (!t.readonly()) {
            Domain g = t.granter();
            g.writableMaps.computeIfPresent(t.frame(), (f, n) -> n == 1 ? null : n - 1);
            // gnttab's unmap of a writable mapping marks the frame dirty: the mapper may have written it.
            if (g.logDirty != null) g.logDirty.mark(t.frame());
        }
        t.granter().memory.release();
        t.granter().grantFile.release();
    }

    /** Runs {@code count} {@link CopyBatch} ops in order, one GNTST code per op into {@code status}. */
    static void copy(Domain caller, int[] ops, int count, int[] status, IntFunction<Domain> lookup) {
        CopyLoop.run(caller, ops, count, status, lookup);
    }
}
