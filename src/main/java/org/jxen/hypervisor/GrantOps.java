package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.function.IntFunction;

/**
 * Map, unmap and copy, run under the hypervisor's lock. A grant is "pinned" while a mapping or a copy uses it:
 * the pin counts live in the granter's {@link Domain}, the GTF_reading/GTF_writing bits they imply live in the
 * granter's entry, where the granter's end-access CAS sees them. A copy pins its grants for that one op only,
 * as Xen's __acquire_grant_for_copy/__release_grant_for_copy do.
 *
 * <p>Pinning reports failure as a negative GNTST code instead of throwing, so that a batch of copies runs
 * without an exception, a record or a page slice per op; map and unmap turn the code into a GrantException.
 */
final class GrantOps {
    private static final int PAGE = GrantEntry.PAGE_SIZE;

    private GrantOps() {
    }

    /** Pins a grant for {@code mapper}: its frame (>= 0), or a GNTST code (< 0) with nothing changed. */
    static int pin(Domain granter, int ref, int mapper, boolean readonly) {
        if (granter == null || !granter.alive()) return GrantStatus.BAD_DOMAIN.code;
        if (ref < 0 || ref >= granter.grantEntries()) return GrantStatus.BAD_GNTREF.code;
        MemorySegment table = granter.grantFile.segment();
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
        granter.readers[ref]++;
        if (!readonly) granter.writers[ref]++;
        int frame = GrantEntry.frame(table, ref);
        if (frame < 0 || frame >= granter.pages) {
            unpin(granter, ref, readonly);
            return GrantStatus.BAD_PAGE.code;
        }
        return frame;
    }

    /** Drops a pin; the last writer clears GTF_writing, the last user GTF_reading. */
    static void unpin(Domain granter, int ref, boolean readonly) {
        int clear = 0;
        if (!readonly && --granter.writers[ref] == 0) clear |= GrantEntry.GTF_WRITING;
        if (--granter.readers[ref] == 0) clear |= GrantEntry.GTF_READING;
        if (clear != 0) GrantEntry.clearFlags(granter.grantFile.segment(), ref, clear);
    }

    static MapReply map(Domain mapper, Domain granter, int ref, boolean readonly) throws GrantException {
        int frame = pin(granter, ref, mapper.id, readonly);
        if (frame < 0) {
            throw new GrantException(GrantStatus.of(frame), "ref " + ref + " of d"
                    + (granter == null ? "?" : granter.id) + " for d" + mapper.id + (readonly ? " (ro)" : " (rw)"));
        }
        int handle = mapper.nextHandle++;
        mapper.maptrack.put(handle, new MapTrack(granter, ref, readonly));
        // The mapper's page must outlive the granter: keep its files until the unmap.
        granter.memory.retain();
        granter.grantFile.retain();
        return new MapReply(handle, granter.memory.path(), frame);
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
        t.granter().memory.release();
        t.granter().grantFile.release();
    }

    /** Runs {@code count} {@link CopyBatch} ops in order, one GNTST code per op into {@code status}. */
    static void copy(Domain caller, int[] ops, int count, int[] status, IntFunction<Domain> lookup) {
        Granters granters = new Granters(lookup);
        for (int i = 0; i < count; i++) status[i] = copyOne(caller, ops, i * CopyBatch.INTS, granters);
    }

    /** The domain table seen by one batch: a batch names one or two granters, so remember the last one. */
    private static final class Granters {
        private final IntFunction<Domain> lookup;
        private int lastId = -1;
        private Domain last;

        Granters(IntFunction<Domain> lookup) {
            this.lookup = lookup;
        }

        Domain get(int domid) {
            if (domid != lastId) {
                last = lookup.apply(domid);
                lastId = domid;
            }
            return last;
        }
    }

    /**
     * One op, checked in Xen's order: lengths and offsets, then the source (pinned read-only), then the
     * destination (pinned writable); a failure unpins what was pinned, so a failed op changes nothing.
     */
    private static int copyOne(Domain caller, int[] ops, int at, Granters granters) {
        int len = ops[at + CopyBatch.LENGTH];
        int srcOff = ops[at + CopyBatch.SRC + CopyBatch.OFFSET];
        int dstOff = ops[at + CopyBatch.DST + CopyBatch.OFFSET];
        if (len < 0 || outside(srcOff, len) || outside(dstOff, len)) return GrantStatus.BAD_COPY_ARG.code;
        int src = at + CopyBatch.SRC;
        Domain srcDom = owner(caller, ops, src, granters);
        int srcFrame = acquire(caller, srcDom, ops, src, true);
        if (srcFrame < 0) return srcFrame;
        int dst = at + CopyBatch.DST;
        Domain dstDom = owner(caller, ops, dst, granters);
        int dstFrame = acquire(caller, dstDom, ops, dst, false);
        if (dstFrame >= 0) {
            MemorySegment.copy(srcDom.memory.segment(), (long) srcFrame * PAGE + srcOff,
                    dstDom.memory.segment(), (long) dstFrame * PAGE + dstOff, len);
            release(dstDom, ops, dst, false);
        }
        release(srcDom, ops, src, true);
        return dstFrame < 0 ? dstFrame : GrantStatus.OKAY.code;
    }

    private static boolean outside(int offset, int len) {
        return offset < 0 || offset > PAGE - len;
    }

    /** Whose memory a pointer names: the caller's for a frame, the granter's (maybe null) for a ref. */
    private static Domain owner(Domain caller, int[] ops, int ptr, Granters granters) {
        return ops[ptr + CopyBatch.KIND] == CopyBatch.REF ? granters.get(ops[ptr + CopyBatch.DOM_OR_FRAME]) : caller;
    }

    /** The frame a pointer names within {@code owner}'s memory, pinned if it is a grant; or a GNTST code. */
    private static int acquire(Domain caller, Domain owner, int[] ops, int ptr, boolean readonly) {
        switch (ops[ptr + CopyBatch.KIND]) {
            case CopyBatch.FRAME -> {
                int frame = ops[ptr + CopyBatch.DOM_OR_FRAME];
                return frame < 0 || frame >= caller.pages ? GrantStatus.BAD_PAGE.code : frame;
            }
            case CopyBatch.REF -> {
                return pin(owner, ops[ptr + CopyBatch.GREF], caller.id, readonly);
            }
            default -> {
                // Only reachable from a hypercall page a guest filled with garbage.
                return GrantStatus.BAD_COPY_ARG.code;
            }
        }
    }

    private static void release(Domain owner, int[] ops, int ptr, boolean readonly) {
        if (ops[ptr + CopyBatch.KIND] == CopyBatch.REF) unpin(owner, ops[ptr + CopyBatch.GREF], readonly);
    }
}
