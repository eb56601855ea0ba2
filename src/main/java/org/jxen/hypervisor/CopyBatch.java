package org.jxen.hypervisor;

import java.util.List;

/**
 * A GNTTABOP_copy batch as flat ints, {@link #INTS} per op: the one form the hypervisor's copy loop reads, so an
 * in-process call and a guest process's hypercall page feed the same code without a record or a boxed value per
 * op. A pointer is a kind ({@link #REF}: domid, ref, offset; {@link #FRAME}: frame, unused, offset).
 *
 * <pre>
 * op = i32 srcKind, srcDomidOrFrame, srcRef, srcOffset, dstKind, dstDomidOrFrame, dstRef, dstOffset, length
 * </pre>
 */
public final class CopyBatch {
    public static final int REF = 0;
    public static final int FRAME = 1;
    static final int SRC = 0;
    static final int DST = 4;
    static final int KIND = 0;
    static final int DOM_OR_FRAME = 1;
    static final int GREF = 2;
    static final int OFFSET = 3;
    static final int LENGTH = 8;
    public static final int INTS = 9;

    private CopyBatch() {
    }

    /** {@code ops} encoded into a fresh array of {@code ops.size() * INTS} ints. */
    public static int[] encode(List<GrantCopy> ops) {
        int[] out = new int[ops.size() * INTS];
        for (int i = 0; i < ops.size(); i++) {
            GrantCopy op = ops.get(i);
            int base = i * INTS;
            ptr(out, base + SRC, op.source());
            ptr(out, base + DST, op.dest());
            out[base + LENGTH] = op.length();
        }
        return out;
    }

    private static void ptr(int[] out, int at, GrantCopy.Ptr p) {
        switch (p) {
            case GrantCopy.Ref r -> {
                out[at + KIND] = REF;
                out[at + DOM_OR_FRAME] = r.domid();
                out[at + GREF] = r.ref();
                out[at + OFFSET] = r.offset();
            }
            case GrantCopy.Frame f -> {
                out[at + KIND] = FRAME;
                out[at + DOM_OR_FRAME] = f.frame();
                out[at + OFFSET] = f.offset();
            }
        }
    }
}
