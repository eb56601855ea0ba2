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

    private ByteBuffer buf;
    private int recordStart = -1;

    public RecordWriter(int capacity) {
        // Direct: the journal hands it to write(2) as it is.
        buf = ByteBuffer.allocateDirect(Math.max(64, capacity)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The stream header: ident, version and flags, big-endian whatever the records' order. */
    public static byte[] header() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE).order(ByteOrder.BIG_ENDIAN);
        b.putLong(IDENT).putInt(VERSION).putInt(0);
        return b.array();
    }

    public int size() {
        return buf.position();
    }

    public boolean isEmpty() {
        return buf.position() == 0;
    }

    public void clear() {
        buf.clear();
        recordStart = -1;
    }

    /** The bytes written so far (a view: valid until the next write). */
    public ByteBuffer view() {
        return buf.duplicate().flip();
    }

    public byte[] toBytes() {
        byte[] out = new byte[buf.position()];
        buf.duplicate().flip().get(out);
        return out;
    }

    private void ensure(int n) {
        if (buf.remaining() >= n) return;
        ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(buf.capacity() * 2, buf.position() + n + 64))
                .order(ByteOrder.LITTLE_ENDIAN);
        buf.flip();
        bigger.put(buf);
        buf = bigger;
    }

    public RecordWriter begin(int type) {
        if (recordStart >= 0) throw new IllegalStateException("record not ended");
        ensure(8);
        recordStart = buf.position();
        buf.putInt(type).putInt(0);
        return this;
    }

    public RecordWriter end() {
        int len = buf.position() - recordStart - 8;
        buf.putInt(recordStart + 4, len);
        int pad = (8 - (len & 7)) & 7;
        ensure(pad);
        for (int i = 0; i < pad; i++) buf.put((byte) 0);
        recordStart = -1;
        return this;
    }

    public RecordWriter u8(int v) {
        ensure(1);
        buf.put((byte) v);
        return this;
    }

    public RecordWriter u16(int v) {
        ensure(2);
        buf.putShort((short) v);
        return this;
    }

    public RecordWriter u32(int v) {
        ensure(4);
        buf.putInt(v);
        return this;
    }

    public RecordWriter u64(long v) {
        ensure(8);
        buf.putLong(v);
        return this;
    }

    public RecordWriter bytes(byte[] b) {
        return bytes(b, 0, b.length);
    }

    public RecordWriter bytes(byte[] b, int off, int len) {
        ensure(len);
        buf.put(b, off, len);
        return this;
    }

    public RecordWriter bytes(ByteBuffer b) {
        ensure(b.remaining());
        buf.put(b);
        return this;
    }

    /** Cuts what was written after {@code pos} (an abandoned batch). */
    public void truncate(int pos) {
        buf.position(pos);
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
        c.update(buf.slice(from, to - from));
    }


    /** Patches a u32 at an absolute position already written. */
    public void putU32At(int pos, int v) {
        buf.putInt(pos, v);
    }

    // ---- the records ----------------------------------------------------------------------------------

    /** Strings in the store are byte strings kept one char per byte (ISO-8859-1), as the engine reads them. */
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
        boolean wide = false;
        if (perms != null) for (XsPerm p : perms.entries()) if ((p.domid() & 0xFFFF0000) != 0) wide = true;
        byte[] cpath = cstr(path);
        byte[] v = value == null ? new byte[0] : value;
        begin(wide ? RecordType.NODE_DATA_WIDE : RecordType.NODE_DATA);
        u32(0).u32(0).u16(cpath.length).u16(v.length).u16(0);
        List<XsPerm> entries = perms == null ? List.of() : perms.entries();
        u16(entries.size());
        for (XsPerm p : entries) {
            u8(p.letter());
            if (wide) u8(0).u16(0).u32(p.domid());
            else u8(0).u16(p.domid());
        }
        bytes(cpath).bytes(v);
        return end();
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
