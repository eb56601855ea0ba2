package org.jxen.xenstored.state;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;

/**
 * Builds state records into a growable little-endian buffer (the stream header's endianness flag is 0): each
 * record is type u32, len u32, body, zero padding to 8 octets, as xenstore-migration.pandoc lays them out.
 */
public final class RecordWriter {
    /** "xenstore" in ASCII, the stream's ident. */
    public static final long IDENT = 0x78656e73746f7265L;
    public static final int VERSION = 1;
    public static final int HEADER_SIZE = 16;

    /** Little-endian bytes in a plain array: simple stores, which even C1 compiles well (the daemon runs C1 only). */
    private byte[] buf;
    private int pos;
    private int recordStart = -1;

    /** Where a streaming writer hands its bytes, a buffer's worth at a time. */
    @FunctionalInterface
    public interface Sink {
        void write(byte[] buf, int len) throws java.io.IOException;
    }

    /** With a sink: whatever is written goes there once the buffer is three quarters full, at record starts. */
    private final Sink sink;
    private final int spillAt;

    public RecordWriter(int capacity) {
        this(capacity, null);
    }

    /** A writer that streams into {@code sink} instead of growing (sink failures surface as UncheckedIOException). */
    public RecordWriter(int capacity, Sink sink) {
        buf = new byte[Math.max(64, capacity)];
        this.sink = sink;
        this.spillAt = buf.length / 4 * 3;
    }

    /** Hands everything written so far to the sink (between records only). */
    public void spill() {
        if (sink == null || pos == 0) return;
        if (recordStart >= 0) throw new IllegalStateException("record not ended");
        try {
            sink.write(buf, pos);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        pos = 0;
    }

    /** A record starts: a streaming writer passes on what it holds first if its buffer is filling up. */
    private void recordStarts() {
        if (sink != null && pos >= spillAt) spill();
    }

    /** The stream header: ident, version and flags, big-endian whatever the records' order. */
    public static byte[] header() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE).order(ByteOrder.BIG_ENDIAN);
        b.putLong(IDENT).putInt(VERSION).putInt(0);
        return b.array();
    }

    public int size() {
        return pos;
    }

    public boolean isEmpty() {
        return pos == 0;
    }

    public void clear() {
        pos = 0;
        recordStart = -1;
    }

    /** The bytes written so far (a view: valid until the next write). */
    public ByteBuffer view() {
        return ByteBuffer.wrap(buf, 0, pos).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The backing array: bytes [0, size()) are what was written. */
    public byte[] array() {
        return buf;
    }

    public byte[] toBytes() {
        return java.util.Arrays.copyOf(buf, pos);
    }

    private void ensure(int n) {
        if (buf.length - pos >= n) return;
        buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n + 64));
    }

    public RecordWriter begin(int type) {
        if (recordStart >= 0) throw new IllegalStateException("record not ended");
        recordStarts();
        recordStart = pos;
        u32(type).u32(0);
        return this;
    }

    public RecordWriter end() {
        int len = pos - recordStart - 8;
        putU32At(recordStart + 4, len);
        int pad = (8 - (len & 7)) & 7;
        ensure(pad);
        for (int i = 0; i < pad; i++) buf[pos++] = 0;
        recordStart = -1;
        return this;
    }

    public RecordWriter u8(int v) {
        ensure(1);
        buf[pos++] = (byte) v;
        return this;
    }

    public RecordWriter u16(int v) {
        ensure(2);
        buf[pos++] = (byte) v;
        buf[pos++] = (byte) (v >>> 8);
        return this;
    }

    public RecordWriter u32(int v) {
        ensure(4);
        putU32At(pos, v);
        pos += 4;
        return this;
    }

    public RecordWriter u64(long v) {
        u32((int) v);
        return u32((int) (v >>> 32));
    }

    public RecordWriter bytes(byte[] b) {
        return bytes(b, 0, b.length);
    }

    public RecordWriter bytes(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, buf, pos, len);
        pos += len;
        return this;
    }

    /** A string's bytes (one per char, ISO-8859-1 as the engine keeps them), then {@code nul} NULs. */
    RecordWriter chars(String s, int nul) {
        int n = s.length();
        ensure(n + nul);
        for (int i = 0; i < n; i++) buf[pos++] = (byte) s.charAt(i);
        for (int i = 0; i < nul; i++) buf[pos++] = 0;
        return this;
    }

    /** Cuts what was written after {@code pos} (an abandoned batch). */
    public void truncate(int pos) {
        this.pos = pos;
        recordStart = -1;
    }

    /** CRC32C of the bytes written in [from, to). */
    public int crc(int from, int to) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        update(c, from, to);
        return (int) c.getValue();
    }

    /** Adds the bytes written in [from, to) to {@code c}. */
    public void update(java.util.zip.Checksum c, int from, int to) {
        c.update(buf, from, to - from);
    }

    /** Patches a u32 at an absolute position already written. */
    public void putU32At(int at, int v) {
        buf[at] = (byte) v;
        buf[at + 1] = (byte) (v >>> 8);
        buf[at + 2] = (byte) (v >>> 16);
        buf[at + 3] = (byte) (v >>> 24);
    }

    // ---- the records ----------------------------------------------------------------------------------

    /** Strings in the store are byte strings kept one char per byte (ISO-8859-1), as the engine reads them. */
    private static final byte[] EMPTY = {};

    static byte[] raw(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] cstr(String s) {
        byte[] b = raw(s);
        byte[] out = new byte[b.length + 1];
        System.arraycopy(b, 0, out, 0, b.length);
        return out;
    }

    /**
     * NODE_DATA of a committed node (conn-id and tx-id 0, access 0); {@code perms} null marks a removal, as the
     * pandoc's record of a deleted node (no permissions, no value).
     */
    public RecordWriter node(String path, XsPerms perms, byte[] value) {
        recordStarts();
        List<XsPerm> entries = perms == null ? List.of() : perms.entries();
        int count = entries.size();
        boolean wide = false;
        for (int i = 0; i < count; i++) if ((entries.get(i).domid() & 0xFFFF0000) != 0) wide = true;
        byte[] v = value == null ? EMPTY : value;
        int pl = path.length() + 1;
        int bodyLen = 16 + count * (wide ? 8 : 4) + pl + v.length;
        ensure(8 + bodyLen + 8);
        // Room is made above: stores straight into the array (one per journaled request, on the loop).
        byte[] b = buf;
        int p = pos;
        putU32At(p, wide ? RecordType.NODE_DATA_WIDE : RecordType.NODE_DATA);
        putU32At(p + 4, bodyLen);
        putU32At(p + 8, 0);
        putU32At(p + 12, 0);
        putU32At(p + 16, (pl & 0xFFFF) | v.length << 16);
        putU32At(p + 20, count << 16);
        p += 24;
        for (int i = 0; i < count; i++) {
            XsPerm e = entries.get(i);
            b[p] = (byte) e.letter();
            b[p + 1] = 0;
            if (wide) {
                b[p + 2] = 0;
                b[p + 3] = 0;
                putU32At(p + 4, e.domid());
                p += 8;
            } else {
                b[p + 2] = (byte) e.domid();
                b[p + 3] = (byte) (e.domid() >>> 8);
                p += 4;
            }
        }
        for (int i = 0, n = path.length(); i < n; i++) b[p++] = (byte) path.charAt(i);
        b[p++] = 0;
        System.arraycopy(v, 0, b, p, v.length);
        p += v.length;
        int pad = (8 - (bodyLen & 7)) & 7;
        for (int i = 0; i < pad; i++) b[p++] = 0;
        pos = p;
        return this;
    }

    /** CONNECTION_DATA of a guest's shared ring: conn-id, type 0, flags 0, domid, tdomid, evtchn, no data. */
    public RecordWriter ringConnection(int connId, int domid, int tdomid, int evtchn) {
        return begin(RecordType.CONNECTION_DATA).u32(connId).u16(0).u16(0).u16(domid).u16(tdomid).u32(evtchn)
                .u32(0).end();
    }

    public RecordWriter watch(int type, int connId, String wpath, String token) {
        byte[] p = cstr(wpath), t = cstr(token);
        return begin(type).u32(connId).u16(p.length).u16(t.length).bytes(p).bytes(t).end();
    }

    public RecordWriter transaction(int type, int connId, int txId) {
        return begin(type).u32(connId).u32(txId).end();
    }

    public RecordWriter connectionGone(int connId) {
        return begin(RecordType.CONNECTION_GONE).u32(connId).end();
    }

    public RecordWriter settings(String text) {
        return begin(RecordType.SETTINGS).bytes(text.getBytes(StandardCharsets.UTF_8)).end();
    }

    public RecordWriter ringReply(int connId, int reqEnd, byte[] frame) {
        return begin(RecordType.RING_REPLY).u32(connId).u32(reqEnd).bytes(frame).end();
    }

    public RecordWriter globalData() {
        return begin(RecordType.GLOBAL_DATA).u32(-1).u32(-1).end();
    }

    public RecordWriter endRecord() {
        return begin(RecordType.END).end();
    }
}
