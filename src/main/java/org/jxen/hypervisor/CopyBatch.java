package org.jxen.hypervisor;

import java.util.List;

/**
 * A GNTTABOP_copy batch as flat ints, {@link #INTS} per op: the one form the hypervisor's copy loop reads, so an
 * in-process call and a guest process's hypercall page feed the same code without a record or a boxed value per
 * op. A pointer is a kind ({@link #REF}: domid, ref, offset; {@link #FRAME}: frame, unused, offset).
 *
 * <p>An instance is a caller-owned, reusable batch with its status array, like the {@code struct gnttab_copy}
 * array a Linux backend keeps per queue and the hypervisor writes each op's status into: a backend that copies
 * the same kind of batch over and over encodes it once ({@link Hypercalls#grantCopy(CopyBatch)}). Not
 * thread-safe; one hypercall at a time per batch.
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

    final int[] ops;
    final int[] status;
    private int count;

    public CopyBatch(int capacity) {
        ops = new int[capacity * INTS];
        status = new int[capacity];
    }

    public static CopyBatch of(List<GrantCopy> ops) {
        CopyBatch b = new CopyBatch(ops.size());
        for (GrantCopy op : ops) b.add(op);
        return b;
    }

    /** Appends an op; its status reads 0 until the batch has been issued. */
    public CopyBatch add(GrantCopy op) {
        if (count == status.length) throw new IllegalStateException("batch full at " + count + " ops");
        int base = count * INTS;
        ptr(ops, base + SRC, op.source());
        ptr(ops, base + DST, op.dest());
        ops[base + LENGTH] = op.length();
        status[count++] = 0;
        return this;
    }

    public void clear() {
        count = 0;
    }

    public int count() {
        return count;
    }

    /** The GNTST code the last hypercall left for op {@code i}. */
    public int status(int i) {
        if (i < 0 || i >= count) throw new IndexOutOfBoundsException(i);
        return status[i];
    }

    /** How many ops of the last hypercall did not report OKAY: one loop here, not a call per op. */
    public int failures() {
        int failed = 0;
        for (int i = 0; i < count; i++) {
            if (status[i] != GrantStatus.OKAY.code) failed++;
        }
        return failed;
    }

    /** The statuses of the last hypercall, one per op. */
    public int[] statuses() {
        return java.util.Arrays.copyOf(status, count);
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
                out[at + GREF] = 0;
                out[at + OFFSET] = f.offset();
            }
        }
    }
}
