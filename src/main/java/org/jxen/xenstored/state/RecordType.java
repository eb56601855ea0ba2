package org.jxen.xenstored.state;

/**
 * Record types of the state stream. 0 to 5 are docs/designs/xenstore-migration.pandoc's, with its layouts; the
 * types with the top bit set are jxen's, for what that format has no record for (a journal batch with its
 * checksum, removals, per-domain settings, replies a guest has not yet consumed).
 */
public final class RecordType {
    public static final int END = 0;
    public static final int GLOBAL_DATA = 1;
    public static final int CONNECTION_DATA = 2;
    public static final int WATCH_DATA = 3;
    public static final int TRANSACTION_DATA = 4;
    public static final int NODE_DATA = 5;

    /** A journal batch: seq u64, crc32c u32 of the records inside, pad u32, then the records. */
    public static final int BATCH = 0x80000001;
    /** conn-id u32: the connection and its watches and transactions are gone. */
    public static final int CONNECTION_GONE = 0x80000002;
    /** As WATCH_DATA: that watch was removed. */
    public static final int WATCH_GONE = 0x80000003;
    /** As TRANSACTION_DATA: that transaction ended. */
    public static final int TRANSACTION_GONE = 0x80000004;
    /** NODE_DATA with 8-byte permission specifiers (perm u8, pad 3, domid u32), for domids past 16 bits. */
    public static final int NODE_DATA_WIDE = 0x80000005;
    /** The daemon's settings as UTF-8 lines: global quotas, special-node permissions, every domain's record. */
    public static final int SETTINGS = 0x80000006;
    /** conn-id u32, req-end u32, reply frame: the reply to the request ending at req-end of a guest's ring. */
    public static final int RING_REPLY = 0x80000007;
    /** seq u64 of the last journal batch a snapshot contains; first record of a snapshot after the header. */
    public static final int SNAPSHOT_SEQ = 0x80000008;

    private RecordType() {
    }

    public static String name(int type) {
        return switch (type) {
            case END -> "END";
            case GLOBAL_DATA -> "GLOBAL_DATA";
            case CONNECTION_DATA -> "CONNECTION_DATA";
            case WATCH_DATA -> "WATCH_DATA";
            case TRANSACTION_DATA -> "TRANSACTION_DATA";
            case NODE_DATA -> "NODE_DATA";
            case BATCH -> "BATCH";
            case CONNECTION_GONE -> "CONNECTION_GONE";
            case WATCH_GONE -> "WATCH_GONE";
            case TRANSACTION_GONE -> "TRANSACTION_GONE";
            case NODE_DATA_WIDE -> "NODE_DATA_WIDE";
            case SETTINGS -> "SETTINGS";
            case RING_REPLY -> "RING_REPLY";
            case SNAPSHOT_SEQ -> "SNAPSHOT_SEQ";
            default -> "0x" + Integer.toHexString(type);
        };
    }
}
