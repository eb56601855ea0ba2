package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Flyweight over grant_entry_v1 ({u16 flags, u16 domid, u32 frame}, little-endian like x86) in a grant-table
 * segment. Granter and hypervisor race on the same entry from different processes, so every flag change is a
 * CAS on the int holding flags and domid: the hypervisor's CAS fails if the granter changed the domid under it,
 * exactly the guarantee Xen gets from its cmpxchg on the combined flags/domid word.
 */
public final class GrantEntry {
    public static final int SIZE = 8;
    public static final int PAGE_SIZE = 4096;
    public static final int ENTRIES_PER_FRAME = PAGE_SIZE / SIZE;
    static final int FLAGS_DOMID_OFFSET = 0;
    static final int FRAME_OFFSET = 4;

    public static final int GTF_PERMIT_ACCESS = 1;
    public static final int GTF_READONLY = 4;
    public static final int GTF_READING = 8;
    public static final int GTF_WRITING = 16;
    /** GTF_type_mask: transfer and transitive grants are not supported, so only permit_access is a valid type. */
    public static final int GTF_TYPE_MASK = 3;

    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN)
            .varHandle();

    private GrantEntry() {
    }

    static long offset(int ref) {
        return (long) ref * SIZE;
    }

    /** flags in the low 16 bits, domid in the high 16 bits. */
    public static int flagsAndDomid(MemorySegment table, int ref) {
        return (int) INT.getVolatile(table, offset(ref) + FLAGS_DOMID_OFFSET);
    }

    public static int flags(int flagsAndDomid) {
        return flagsAndDomid & 0xFFFF;
    }

    public static int domid(int flagsAndDomid) {
        return flagsAndDomid >>> 16;
    }

    public static int frame(MemorySegment table, int ref) {
        return (int) INT.getVolatile(table, offset(ref) + FRAME_OFFSET);
    }

    /**
     * The granter's gnttab_grant_foreign_access_ref: domid and frame first, flags last with release order, so a
     * mapper that sees permit_access also sees the frame.
     */
    public static void grant(MemorySegment table, int ref, int domid, int frame, boolean readonly) {
        INT.setRelease(table, offset(ref) + FRAME_OFFSET, frame);
        INT.setRelease(table, offset(ref) + FLAGS_DOMID_OFFSET, domid << 16);
        int flags = GTF_PERMIT_ACCESS | (readonly ? GTF_READONLY : 0);
        INT.setRelease(table, offset(ref) + FLAGS_DOMID_OFFSET, (domid << 16) | flags);
    }

    /** The granter's end_foreign_access_ref: fails, leaving the entry alone, while the hypervisor has it in use. */
    public static boolean endAccess(MemorySegment table, int ref) {
        while (true) {
            int v = flagsAndDomid(table, ref);
            if ((v & (GTF_READING | GTF_WRITING)) != 0) return false;
            if (INT.compareAndSet(table, offset(ref) + FLAGS_DOMID_OFFSET, v, v & 0xFFFF0000)) return true;
        }
    }

    static boolean compareAndSet(MemorySegment table, int ref, int expected, int update) {
        return INT.compareAndSet(table, offset(ref) + FLAGS_DOMID_OFFSET, expected, update);
    }

    /**
     * Clears in-use bits (Xen's gnttab_clear_flags): an atomic AND, so a granter's concurrent write of the other
     * bits is never lost.
     */
    static void clearFlags(MemorySegment table, int ref, int bits) {
        INT.getAndBitwiseAnd(table, offset(ref) + FLAGS_DOMID_OFFSET, ~bits);
    }
}
