package org.jxen.drivers.blk;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Constants of xen/include/public/io/blkif.h (x86_64 ABI) and the little-endian layouts the flyweights use.
 * The layouts are the unaligned variants because a private request copy or an indirect page may come from
 * anywhere; on x86 an unaligned access to an aligned address costs nothing.
 */
public final class Blkif {
    /** The "protocol" node's value for the x86_64 ABI of these layouts (XEN_IO_PROTO_ABI_X86_64). */
    public static final String PROTOCOL_X86_64 = "x86_64-abi";

    public static final int OP_READ = 0;
    public static final int OP_WRITE = 1;
    public static final int OP_WRITE_BARRIER = 2;
    public static final int OP_FLUSH_DISKCACHE = 3;
    /** Reserved for SLES' device-specific packets; never valid here. */
    public static final int OP_RESERVED_1 = 4;
    public static final int OP_DISCARD = 5;
    public static final int OP_INDIRECT = 6;

    public static final short RSP_OKAY = 0;
    public static final short RSP_ERROR = -1;
    public static final short RSP_EOPNOTSUPP = -2;

    /** Sector unit of sector_number, first_sect, last_sect, nr_sectors and the "sectors" node, whatever the disk. */
    public static final int SECTOR_SIZE = 512;
    public static final int SECTOR_SHIFT = 9;
    public static final int PAGE_SIZE = 4096;
    /** A segment addresses sectors 0..7 of one 4 KiB page. */
    public static final int SECTORS_PER_PAGE = PAGE_SIZE / SECTOR_SIZE;

    /** BLKIF_MAX_SEGMENTS_PER_REQUEST: what fits a 112-byte request. */
    public static final int MAX_SEGMENTS_PER_REQUEST = 11;
    /** BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST. */
    public static final int MAX_INDIRECT_PAGES_PER_REQUEST = 8;
    /** Segment descriptors per indirect page: 4096 / 8. */
    public static final int SEGMENTS_PER_INDIRECT_PAGE = PAGE_SIZE / BlkifSegment.SIZE;
    /** The protocol's ceiling on feature-max-indirect-segments: 8 pages of 512 descriptors. */
    public static final int MAX_INDIRECT_SEGMENTS = MAX_INDIRECT_PAGES_PER_REQUEST * SEGMENTS_PER_INDIRECT_PAGE;

    /** BLKIF_DISCARD_SECURE in blkif_request_discard.flag (honoured only with discard-secure=1). */
    public static final int DISCARD_SECURE = 1;

    /** VDISK_* bits of the backend's "info" node. */
    public static final int VDISK_CDROM = 1;
    public static final int VDISK_REMOVABLE = 2;
    public static final int VDISK_READONLY = 4;

    /** The ring entry: union of request (112) and response (16). One page holds 32 of them. */
    public static final int ENTRY_SIZE = Math.max(BlkifRequest.SIZE, BlkifResponse.SIZE);

    static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Blkif() {}

    /** A readable name for logs: "read", "write", ..., or the number. */
    public static String opName(int op) {
        return switch (op) {
            case OP_READ -> "read";
            case OP_WRITE -> "write";
            case OP_WRITE_BARRIER -> "write-barrier";
            case OP_FLUSH_DISKCACHE -> "flush-diskcache";
            case OP_DISCARD -> "discard";
            case OP_INDIRECT -> "indirect";
            default -> "op" + op;
        };
    }
}
