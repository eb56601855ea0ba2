package org.jxen.hypervisor;

/** One GNTTABOP_copy operation: {@code length} bytes from source to dest, each within one 4 KiB page. */
public record GrantCopy(Ptr source, Ptr dest, int length) {

    /** Either side of a copy. */
    public sealed interface Ptr permits Ref, Frame {
        int offset();
    }

    /** A grant ref of another domain (GNTCOPY_source_gref / dest_gref). */
    public record Ref(int domid, int ref, int offset) implements Ptr {
    }

    /** A frame of the calling domain's own memory. */
    public record Frame(int frame, int offset) implements Ptr {
    }
}
