package org.jxen.xenstore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One xs_wire frame: header fields and payload. {@code type} stays a raw int because a peer may send a code
 * xs_wire.h does not define (the daemon answers ENOSYS).
 */
public record XsMessage(int type, int reqId, int txId, byte[] payload) {

    public XsMessage {
        if (payload == null) payload = new byte[0];
    }

    public static XsMessage of(XsType type, int reqId, int txId, byte[] payload) {
        return new XsMessage(type.code, reqId, txId, payload);
    }

    public static XsMessage error(XsMessage request, XsError error) {
        return new XsMessage(XsType.ERROR.code, request.reqId, request.txId, error.payload());
    }

    /** A reply of the request's type with this payload. */
    public XsMessage reply(byte[] payload) {
        return new XsMessage(type, reqId, txId, payload);
    }

    public XsType xsType() {
        return XsType.of(type);
    }

    public int length() {
        return payload.length;
    }

    public int frameSize() {
        return XsWire.HEADER_SIZE + payload.length;
    }

    /** Writes header and payload. The buffer must have {@link #frameSize()} bytes left. */
    public void writeTo(ByteBuffer out) {
        ByteOrder order = out.order();
        out.order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(type).putInt(reqId).putInt(txId).putInt(payload.length).put(payload);
        out.order(order);
    }

    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(frameSize());
        writeTo(b);
        return b.array();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof XsMessage m && m.type == type && m.reqId == reqId && m.txId == txId
                && Arrays.equals(m.payload, payload);
    }

    @Override
    public int hashCode() {
        return ((type * 31 + reqId) * 31 + txId) * 31 + Arrays.hashCode(payload);
    }

    /** Payload shown with NULs as '|', non-printable bytes escaped: the form traces and logs use. */
    public String payloadText() {
        return Payloads.printable(payload);
    }

    @Override
    public String toString() {
        return XsType.name(type) + " req=" + Integer.toUnsignedString(reqId) + " tx=" + Integer.toUnsignedString(txId)
                + " len=" + payload.length + " \"" + payloadText() + "\"";
    }

    static String ascii(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }
}
