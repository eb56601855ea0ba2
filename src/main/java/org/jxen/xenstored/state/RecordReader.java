package org.jxen.xenstored.state;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;

/** Decodes the records {@link RecordWriter} makes and hands them to a {@link StateVisitor}. */
public final class RecordReader {
    private RecordReader() {
    }

    /** A record that cannot be what its type says. */
    public static final class BadRecordException extends Exception {
        public BadRecordException(String message) {
            super(message);
        }
    }

    /** Checks a stream header; returns false if {@code b} does not start with one of ours. */
    public static boolean header(ByteBuffer b) {
        if (b.remaining() < RecordWriter.HEADER_SIZE) return false;
        ByteBuffer h = b.slice(b.position(), RecordWriter.HEADER_SIZE).order(ByteOrder.BIG_ENDIAN);
        boolean ok = h.getLong() == RecordWriter.IDENT && h.getInt() == RecordWriter.VERSION && h.getInt() == 0;
        if (ok) b.position(b.position() + RecordWriter.HEADER_SIZE);
        return ok;
    }

    /** Reads records until END or the buffer's end; returns true if END was seen. */
    public static boolean records(ByteBuffer in, StateVisitor v) throws BadRecordException {
        ByteBuffer b = in.slice().order(ByteOrder.LITTLE_ENDIAN);
        while (b.remaining() >= 8) {
            int type = b.getInt();
            int len = b.getInt();
            int padded = len + ((8 - (len & 7)) & 7);
            if (len < 0 || padded > b.remaining()) throw new BadRecordException(RecordType.name(type) + " overruns the stream");
            ByteBuffer body = b.slice(b.position(), len).order(ByteOrder.LITTLE_ENDIAN);
            b.position(b.position() + padded);
            if (type == RecordType.END) return true;
            try {
                record(type, body, v);
            } catch (RuntimeException e) {
                throw new BadRecordException(RecordType.name(type) + ": " + e);
            }
        }
        if (b.hasRemaining()) throw new BadRecordException("trailing bytes");
        return false;
    }

    private static void record(int type, ByteBuffer b, StateVisitor v) throws BadRecordException {
        switch (type) {
            case RecordType.NODE_DATA, RecordType.NODE_DATA_WIDE -> {
                boolean wide = type == RecordType.NODE_DATA_WIDE;
                b.getInt(); // conn-id: only committed nodes here
                b.getInt(); // tx-id
                int pathLen = b.getShort() & 0xFFFF;
                int valueLen = b.getShort() & 0xFFFF;
                b.getShort(); // access
                int count = b.getShort() & 0xFFFF;
                List<XsPerm> perms = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    char letter = (char) (b.get() & 0xFF);
                    int domid;
                    if (wide) {
                        b.get();
                        b.getShort();
                        domid = b.getInt();
                    } else {
                        b.get();
                        domid = b.getShort() & 0xFFFF;
                    }
                    perms.add(XsPerm.of(domid, letter));
                }
                String path = cstr(b, pathLen);
                byte[] value = new byte[valueLen];
                b.get(value);
                v.node(path, count == 0 ? null : new XsPerms(perms), value);
            }
            case RecordType.CONNECTION_DATA -> {
                int connId = b.getInt();
                int connType = b.getShort() & 0xFFFF;
                b.getShort();
                if (connType != 0) throw new BadRecordException("connection type " + connType + " (only rings persist)");
                int domid = b.getShort() & 0xFFFF;
                int tdomid = b.getShort() & 0xFFFF;
                int evtchn = b.getInt();
                v.ringConnection(connId, domid, tdomid, evtchn);
            }
            case RecordType.CONNECTION_GONE -> v.connectionGone(b.getInt());
            case RecordType.WATCH_DATA, RecordType.WATCH_GONE -> {
                int connId = b.getInt();
                int pl = b.getShort() & 0xFFFF;
                int tl = b.getShort() & 0xFFFF;
                String path = cstr(b, pl);
                String token = cstr(b, tl);
                v.watch(connId, path, token, type == RecordType.WATCH_GONE);
            }
            case RecordType.TRANSACTION_DATA, RecordType.TRANSACTION_GONE ->
                    v.transaction(b.getInt(), b.getInt(), type == RecordType.TRANSACTION_GONE);
            case RecordType.SETTINGS -> {
                byte[] t = new byte[b.remaining()];
                b.get(t);
                v.settings(new String(t, StandardCharsets.UTF_8));
            }
            case RecordType.RING_REPLY -> {
                int connId = b.getInt();
                int reqEnd = b.getInt();
                byte[] frame = new byte[b.remaining()];
                b.get(frame);
                v.ringReply(connId, reqEnd, frame);
            }
            case RecordType.GLOBAL_DATA, RecordType.SNAPSHOT_SEQ -> {
                // Sockets are not handed over (clients reconnect); the snapshot's seq is read by SnapshotFile.
            }
            default -> throw new BadRecordException("unknown record type " + RecordType.name(type));
        }
    }

    /** A NUL-terminated string of {@code len} octets including the NUL. */
    private static String cstr(ByteBuffer b, int len) throws BadRecordException {
        if (len == 0) throw new BadRecordException("empty string field");
        byte[] s = new byte[len];
        b.get(s);
        if (s[len - 1] != 0) throw new BadRecordException("string field without its NUL");
        return new String(s, 0, len - 1, StandardCharsets.ISO_8859_1);
    }
}
