package org.jxen.xenstore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;

/**
 * Reassembles xs_wire frames from a byte stream that may split them anywhere. Fed whatever bytes arrived;
 * hands each complete frame to the sink. A header announcing more than {@link XsWire#PAYLOAD_MAX} bytes is a
 * protocol violation: C xenstored drops such a connection, so the decoder throws and keeps no state.
 */
public final class XsFrameDecoder {
    /** The peer announced a payload longer than XENSTORE_PAYLOAD_MAX. */
    public static final class FrameTooLargeException extends Exception {
        private static final long serialVersionUID = 1L;
        public final long announced;

        FrameTooLargeException(long announced) {
            super("frame payload length " + announced + " exceeds " + XsWire.PAYLOAD_MAX);
            this.announced = announced;
        }
    }

    private final ByteBuffer header = ByteBuffer.allocate(XsWire.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    private byte[] payload;
    private int payloadFill;
    private int type, reqId, txId;

    /** Consumes all of {@code in}; returns the number of complete frames delivered. */
    public int feed(ByteBuffer in, Consumer<XsMessage> sink) throws FrameTooLargeException {
        int frames = 0;
        while (in.hasRemaining()) {
            if (payload == null) {
                long len;
                if (header.position() == 0 && in.remaining() >= XsWire.HEADER_SIZE) {
                    // The usual case, a whole header at hand: read it in place.
                    type = littleEndian(in);
                    reqId = littleEndian(in);
                    txId = littleEndian(in);
                    len = Integer.toUnsignedLong(littleEndian(in));
                } else {
                    copy(in, header);
                    if (header.hasRemaining()) break;
                    header.flip();
                    type = header.getInt();
                    reqId = header.getInt();
                    txId = header.getInt();
                    len = Integer.toUnsignedLong(header.getInt());
                    header.clear();
                }
                if (len > XsWire.PAYLOAD_MAX) throw new FrameTooLargeException(len);
                payload = new byte[(int) len];
                payloadFill = 0;
            }
            int n = Math.min(in.remaining(), payload.length - payloadFill);
            in.get(payload, payloadFill, n);
            payloadFill += n;
            if (payloadFill == payload.length) {
                XsMessage m = new XsMessage(type, reqId, txId, payload);
                payload = null;
                frames++;
                sink.accept(m);
            }
        }
        return frames;
    }

    /** True when a frame has started but not finished (used to decide whether a ring reset drops data). */
    public boolean partial() {
        return payload != null || header.position() > 0;
    }

    public void reset() {
        header.clear();
        payload = null;
        payloadFill = 0;
    }

    private static int littleEndian(ByteBuffer in) {
        int v = in.getInt();
        return in.order() == ByteOrder.LITTLE_ENDIAN ? v : Integer.reverseBytes(v);
    }

    private static void copy(ByteBuffer from, ByteBuffer to) {
        int n = Math.min(from.remaining(), to.remaining());
        int lim = from.limit();
        from.limit(from.position() + n);
        to.put(from);
        from.limit(lim);
    }
}
