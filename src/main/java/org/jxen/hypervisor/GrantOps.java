package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Map, unmap and copy, run under the hypervisor's lock. A grant is "pinned" while a mapping or a copy uses it:
 * the pin counts live here, the GTF_reading/GTF_writing bits they imply live in the granter's entry, where the
 * granter's end-access CAS sees them.
 */
final class GrantOps {
    private static final int PAGE = GrantEntry.PAGE_SIZE;

    private GrantOps() {
    }

    /** Pins a grant for {@code mapper} and returns its frame. */
    static int pin(Domain granter, int ref, int mapper, boolean readonly) throws GrantException {
        if (granter == null || !granter.alive()) {
            throw new GrantException(GrantStatus.BAD_DOMAIN, "no such granter");
        }
        if (ref < 0 || ref >= granter.grantEntries()) {
            throw new GrantException(GrantStatus.BAD_GNTREF, "ref " + ref + " of d" + granter.id);
        }
        MemorySegment table = granter.grantFile.segment();
        while (true) {
            int v = GrantEntry.flagsAndDomid(table, ref);
            int flags = GrantEntry.flags(v);
            if ((flags & GrantEntry.GTF_TYPE_MASK) != GrantEntry.GTF_PERMIT_ACCESS || GrantEntry.domid(v) != mapper) {
                throw new GrantException(GrantStatus.GENERAL_ERROR,
                        "ref " + ref + " of d" + granter.id + " is not granted to d" + mapper);
            }
            if (!readonly && (flags & GrantEntry.GTF_READONLY) != 0) {
                throw new GrantException(GrantStatus.GENERAL_ERROR, "ref " + ref + " is read-only");
            }
            int update = v | GrantEntry.GTF_READING | (readonly ? 0 : GrantEntry.GTF_WRITING);
            if (GrantEntry.compareAndSet(table, ref, v, update)) break;
        }
        int[] pin = granter.pins.computeIfAbsent(ref, r -> new int[2]);
        pin[0]++;
        if (!readonly) pin[1]++;
        int frame = GrantEntry.frame(table, ref);
        if (frame < 0 || frame >= granter.pages) {
            unpin(granter, ref, readonly);
            throw new GrantException(GrantStatus.BAD_PAGE, "frame " + frame + " outside d" + granter.id);
        }
        return frame;
    }

    /** Drops a pin; the last writer clears GTF_writing, the last user GTF_reading. */
    static void unpin(Domain granter, int ref, boolean readonly) {
        int[] pin = granter.pins.get(ref);
        int clear = 0;
        if (!readonly && --pin[1] == 0) clear |= GrantEntry.GTF_WRITING;
        if (--pin[0] == 0) {
            clear |= GrantEntry.GTF_READING;
            granter.pins.remove(ref);
        }
        if (clear != 0) GrantEntry.clearFlags(granter.grantFile.segment(), ref, clear);
    }

    static MapReply map(Domain mapper, Domain granter, int ref, boolean readonly) throws GrantException {
        int frame = pin(granter, ref, mapper.id, readonly);
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

    static int[] copy(Domain caller, List<GrantCopy> ops, IntFunction<Domain> lookup) {
        int[] status = new int[ops.size()];
        for (int i = 0; i < status.length; i++) {
            try {
                copyOne(caller, ops.get(i), lookup);
                status[i] = GrantStatus.OKAY.code;
            } catch (GrantException e) {
                status[i] = e.status().code;
            }
        }
        return status;
    }

    private static void copyOne(Domain caller, GrantCopy op, IntFunction<Domain> lookup) throws GrantException {
        int len = op.length();
        if (len < 0 || outside(op.source().offset(), len) || outside(op.dest().offset(), len)) {
            throw new GrantException(GrantStatus.BAD_COPY_ARG, "offset+length beyond the page");
        }
        Pinned src = acquire(caller, op.source(), true, lookup);
        try {
            Pinned dst = acquire(caller, op.dest(), false, lookup);
            try {
                MemorySegment.copy(src.page(), op.source().offset(), dst.page(), op.dest().offset(), len);
            } finally {
                dst.release();
            }
        } finally {
            src.release();
        }
    }

    private static boolean outside(int offset, int len) {
        return offset < 0 || offset + len > PAGE;
    }

    private record Pinned(MemorySegment page, Domain granter, int ref, boolean readonly) {
        void release() {
            if (granter != null) unpin(granter, ref, readonly);
        }
    }

    private static Pinned acquire(Domain caller, GrantCopy.Ptr ptr, boolean readonly, IntFunction<Domain> lookup)
            throws GrantException {
        return switch (ptr) {
            case GrantCopy.Frame f -> {
                if (f.frame() < 0 || f.frame() >= caller.pages) {
                    throw new GrantException(GrantStatus.BAD_PAGE, "frame " + f.frame());
                }
                yield new Pinned(page(caller, f.frame()), null, 0, readonly);
            }
            case GrantCopy.Ref r -> {
                Domain granter = lookup.apply(r.domid());
                int frame = pin(granter, r.ref(), caller.id, readonly);
                yield new Pinned(page(granter, frame), granter, r.ref(), readonly);
            }
        };
    }

    private static MemorySegment page(Domain d, int frame) {
        return d.memory.segment().asSlice((long) frame * PAGE, PAGE);
    }
}
