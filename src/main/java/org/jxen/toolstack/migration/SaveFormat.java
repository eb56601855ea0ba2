package org.jxen.toolstack.migration;

import java.nio.charset.StandardCharsets;

/**
 * Every constant of a jxen save image in one place: xl's save-file header (tools/xl/xl.h), libxl's migration
 * stream v2 around libxc's v3 (docs/specs/libxl-migration-stream.pandoc, libxc-migration-stream.pandoc), and the
 * records jxen adds. Layout, in the order a stream has it:
 *
 * <pre>
 * xl header          32  magic "Xen saved domain, xl format\n \0 \r"
 *                     4  byteorder 0x01020304 (little-endian: 04 03 02 01)
 *                     4  mandatory_flags: bit 1 stream v2 (bit 0, JSON config, is not set: the config is xl.cfg text)
 *                     4  optional_flags 0
 *                     4  optional_data_len, then that many bytes: u32 config length, the config
 * libxl header        8  ident "LibxlFmt" (big-endian, as are the next two)
 *                     4  version 2
 *                     4  options 0 (records little-endian)
 * libxl record       u32 type, u32 body length, body, zeros to a multiple of 8
 *   LIBXC_CONTEXT 1  empty body; the libxc stream follows inline:
 * libxc image header  8  marker 0xFFFFFFFFFFFFFFFF, 4 id "XENF", 4 version 3, 2 options 0, 6 reserved (big-endian)
 * libxc domain header 4  type (jxen's: "JXEN"), 2 page_shift 12, 2 reserved, 2 xen_major 4, 2 xen_minor 17
 * libxc records      u32 type, u32 body length, body, zeros to a multiple of 8 (little-endian)
 *   PAGE_DATA 1      u32 count, u32 reserved, count x u64 (bits 63-60 type, 0 = normal; 51-0 pfn), count pages
 *   KERNEL 0x4A580001   the guest kernel's record (docs/migration.md)
 *   CHECKSUM 0x4A580002 u32 CRC32C of every libxc byte before this record, u32 reserved
 *   END 0
 * libxl record END 0
 * </pre>
 */
public final class SaveFormat {
    private SaveFormat() {}

    public static final byte[] XL_MAGIC = "Xen saved domain, xl format\n \0 \r".getBytes(StandardCharsets.ISO_8859_1);
    public static final int XL_BYTEORDER = 0x01020304;
    public static final int XL_MANDATORY_FLAG_JSON = 1;
    public static final int XL_MANDATORY_FLAG_STREAMV2 = 1 << 1;
    /** A config larger than this is not one (xl's configs are a few KiB). */
    public static final int MAX_CONFIG = 1 << 20;

    public static final long LIBXL_IDENT = 0x4c6962786c466d74L; // "LibxlFmt"
    public static final int LIBXL_VERSION = 2;
    public static final int LIBXL_REC_END = 0;
    public static final int LIBXL_REC_LIBXC_CONTEXT = 1;
    /** Bit 31 of a libxl record type: the receiver may skip a record it does not know. */
    public static final int LIBXL_REC_OPTIONAL = 1 << 31;

    public static final long LIBXC_MARKER = 0xFFFFFFFFFFFFFFFFL;
    public static final int LIBXC_ID = 0x58454E46; // "XENF"
    public static final int LIBXC_VERSION = 3;
    public static final int DHDR_TYPE_JXEN = 0x4A58454E; // "JXEN": not a domain type Xen's restore accepts
    public static final int PAGE_SHIFT = 12;
    public static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    public static final int XEN_MAJOR = 4;
    public static final int XEN_MINOR = 17;

    public static final int REC_END = 0;
    public static final int REC_PAGE_DATA = 1;
    public static final int REC_KERNEL = 0x4A580001;
    public static final int REC_CHECKSUM = 0x4A580002;
    /** xg_save_restore.h's MAX_BATCH_SIZE: pages per PAGE_DATA record. */
    public static final int MAX_BATCH = 1024;
    public static final long PFN_MASK = (1L << 52) - 1;
    /** Largest body a record may claim (a full PAGE_DATA batch with its pfn list), so a bad length cannot OOM us. */
    public static final int MAX_RECORD = 8 + MAX_BATCH * (8 + PAGE_SIZE);
}
