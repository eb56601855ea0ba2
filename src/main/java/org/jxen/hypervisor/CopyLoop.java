package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.function.IntFunction;

/**
 * Xen's gnttab_copy over a {@link CopyBatch}: the ops in order, one GNTST code per op. Each op is checked in
 * Xen's order — length and both offsets within the page (bad_copy_arg), then the source, pinned read-only,
 * then the destination, pinned writable — and copied with one MemorySegment.copy between the hypervisor's
 * whole-file mappings of the two domains' memory, the primitive of the plain-copy floor.
 *
 * <p>As Xen's gnttab_copy_one with its two gnttab_copy_bufs, each side keeps what it claimed — a pinned grant
 * or a frame of the caller — until an op names another page on that side, an op fails (both sides are
 * released, so a failed op leaves nothing pinned and changes nothing), or the batch ends. Consecutive ops on
 * one grant pin it once; ops on different grants pin and unpin each, as in Xen.
 *
 * <p>One loop with each side's claim in local variables, not two buffer objects: the per-op work runs right
 * after a 4 KiB copy, whose stores are still draining, and every load from and store to the heap there costs
 * (measured per 64 x 4 KiB batch: ~3.0 us with an object per side, ~2.85 us with this loop; plain copy ~2.1 us).
 */
final class CopyLoop {
    private static final int PAGE = GrantEntry.PAGE_SIZE;
    private static final int NONE = -1;
    private static final int OKAY = GrantStatus.OKAY.code;

    private CopyLoop() {
    }

    static void run(Domain caller, int[] ops, int count, int[] status, IntFunction<Domain> lookup) {
        int me = caller.id;
        MemorySegment own = caller.memory.segment();
        int ownPages = caller.pages;
        // Per side: the granter last named, and the claim: pointer kind (NONE: nothing held), domid or frame,
        // ref, and where the page is.
        CopyGranter srcGranter = null;
        int srcKind = NONE;
        int srcKey = 0;
        int srcRef = 0;
        MemorySegment srcMem = null;
        long srcBase = 0;
        CopyGranter dstGranter = null;
        int dstKind = NONE;
        int dstKey = 0;
        int dstRef = 0;
        MemorySegment dstMem = null;
        long dstBase = 0;
        try {
            for (int i = 0, at = 0; i < count; i++, at += CopyBatch.INTS) {
                int len = ops[at + CopyBatch.LENGTH];
                int srcOff = ops[at + CopyBatch.SRC + CopyBatch.OFFSET];
                int dstOff = ops[at + CopyBatch.DST + CopyBatch.OFFSET];
                int rc = len < 0 || outside(srcOff, len) || outside(dstOff, len) ? GrantStatus.BAD_COPY_ARG.code : OKAY;

                int kind = ops[at + CopyBatch.SRC + CopyBatch.KIND];
                int key = ops[at + CopyBatch.SRC + CopyBatch.DOM_OR_FRAME];
                int ref = ops[at + CopyBatch.SRC + CopyBatch.GREF];
                if (rc == OKAY && !holds(srcKind, srcKey, srcRef, kind, key, ref)) {
                    if (srcKind == CopyBatch.REF) srcGranter.unpin(srcRef, true);
                    srcKind = NONE;
                    if (kind == CopyBatch.REF) srcGranter = CopyGranter.of(srcGranter, key, lookup);
                    int frame = frame(kind, key, ref, srcGranter, me, ownPages, true);
                    if (frame < 0) {
                        rc = frame;
                    } else {
                        srcKind = kind;
                        srcKey = key;
                        srcRef = ref;
                        srcMem = kind == CopyBatch.REF ? srcGranter.memory : own;
                        srcBase = (long) frame * PAGE;
                    }
                }

                kind = ops[at + CopyBatch.DST + CopyBatch.KIND];
                key = ops[at + CopyBatch.DST + CopyBatch.DOM_OR_FRAME];
                ref = ops[at + CopyBatch.DST + CopyBatch.GREF];
                if (rc == OKAY && !holds(dstKind, dstKey, dstRef, kind, key, ref)) {
                    if (dstKind == CopyBatch.REF) dstGranter.unpin(dstRef, false);
                    dstKind = NONE;
                    if (kind == CopyBatch.REF) dstGranter = CopyGranter.of(dstGranter, key, lookup);
                    int frame = frame(kind, key, ref, dstGranter, me, ownPages, false);
                    if (frame < 0) {
                        rc = frame;
                    } else {
                        dstKind = kind;
                        dstKey = key;
                        dstRef = ref;
                        dstMem = kind == CopyBatch.REF ? dstGranter.memory : own;
                        dstBase = (long) frame * PAGE;
                    }
                }

                if (rc == OKAY) {
                    MemorySegment.copy(srcMem, srcBase + srcOff, dstMem, dstBase + dstOff, len);
                } else {
                    if (srcKind == CopyBatch.REF) srcGranter.unpin(srcRef, true);
                    if (dstKind == CopyBatch.REF) dstGranter.unpin(dstRef, false);
                    srcKind = NONE;
                    dstKind = NONE;
                }
                status[i] = rc;
            }
        } finally {
            if (srcKind == CopyBatch.REF) srcGranter.unpin(srcRef, true);
            if (dstKind == CopyBatch.REF) dstGranter.unpin(dstRef, false);
        }
    }

    private static boolean outside(int offset, int len) {
        return offset < 0 || offset > PAGE - len;
    }

    /** Whether a side's claim (heldKind, heldKey, heldRef) is the page a pointer names: gnttab_copy_buf_valid. */
    private static boolean holds(int heldKind, int heldKey, int heldRef, int kind, int key, int ref) {
        return kind == heldKind && key == heldKey && (kind == CopyBatch.FRAME || ref == heldRef);
    }

    /**
     * The frame a pointer names, pinned if it is a grant (of {@code granter}, already looked up): the frame in
     * its owner's memory, or a GNTST code with nothing pinned.
     */
    private static int frame(int kind, int key, int ref, CopyGranter granter, int me, int ownPages, boolean readonly) {
        return switch (kind) {
            case CopyBatch.REF -> granter.pin(ref, me, readonly);
            case CopyBatch.FRAME -> key < 0 || key >= ownPages ? GrantStatus.BAD_PAGE.code : key;
            // Only reachable from a hypercall page a guest filled with garbage.
            default -> GrantStatus.BAD_COPY_ARG.code;
        };
    }
}
