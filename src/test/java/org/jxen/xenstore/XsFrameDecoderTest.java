package org.jxen.xenstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.jxen.xenstore.XsFrameDecoder.FrameTooLargeException;

/** Socket-free tests of the xs_wire framing: encoding, reassembly across arbitrary splits, and limits. */
class XsFrameDecoderTest {

    private static byte[] le(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    private static byte[] header(int type, int reqId, int txId, int len) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(le(type));
        out.writeBytes(le(reqId));
        out.writeBytes(le(txId));
        out.writeBytes(le(len));
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static byte[] filled(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 31 + 7);
        return b;
    }

    /** Representative frames: empty, text, binary with NULs and high bytes, 4095 and exactly 4096 bytes. */
    private static List<XsMessage> representative() {
        return List.of(
                new XsMessage(XsType.TRANSACTION_START.code, 0, 0, new byte[0]),
                new XsMessage(XsType.READ.code, 7, 3, Payloads.strings("/local/domain/1/name")),
                new XsMessage(XsType.WRITE.code, 0xdeadbeef, 0x7fffffff, new byte[] {'/', 'a', 0, 0, 1, 0, (byte) 0xff, 0}),
                new XsMessage(XsType.ERROR.code, -1, -2, XsError.EAGAIN.payload()),
                new XsMessage(99, 1, 2, new byte[] {0}),
                new XsMessage(XsType.WRITE.code, 5, 6, filled(4095)),
                new XsMessage(XsType.DIRECTORY.code, 8, 9, filled(4096)));
    }

    private static List<XsMessage> decodeAll(XsFrameDecoder d, byte[]... chunks) throws FrameTooLargeException {
        List<XsMessage> out = new ArrayList<>();
        for (byte[] c : chunks) d.feed(ByteBuffer.wrap(c), out::add);
        return out;
    }

    @Test
    void everyTypeRoundTripsWithExactLittleEndianHeader() throws Exception {
        for (int code = 0; code <= 26; code++) {
            byte[] payload = Payloads.strings("/p" + code, "v");
            int reqId = 0x01020304 + code;
            int txId = 0x0a0b0c0d;
            XsMessage m = new XsMessage(code, reqId, txId, payload);
            byte[] bytes = m.toBytes();
            assertThat(bytes).hasSize(16 + payload.length);
            assertThat(java.util.Arrays.copyOfRange(bytes, 0, 16)).as("header of type %d", code)
                    .containsExactly(header(code, reqId, txId, payload.length));
            assertThat(bytes[0]).isEqualTo((byte) code);
            assertThat(bytes[4]).isEqualTo((byte) (0x04 + code));
            assertThat(bytes[7]).isEqualTo((byte) 0x01);
            assertThat(bytes[8]).isEqualTo((byte) 0x0d);
            assertThat(bytes[11]).isEqualTo((byte) 0x0a);
            assertThat(bytes[12]).isEqualTo((byte) payload.length);
            assertThat(java.util.Arrays.copyOfRange(bytes, 16, bytes.length)).containsExactly(payload);

            XsFrameDecoder d = new XsFrameDecoder();
            List<XsMessage> got = decodeAll(d, bytes);
            assertThat(got).containsExactly(m);
            assertThat(got.getFirst().xsType()).isEqualTo(XsType.of(code)).isNotNull();
            assertThat(got.getFirst().xsType().code).isEqualTo(code);
            assertThat(d.partial()).isFalse();
        }
    }

    @Test
    void xsMessageOfAndReplyAndError() {
        XsMessage req = XsMessage.of(XsType.READ, 42, 7, Payloads.strings("/a"));
        assertThat(req.toBytes()).startsWith(header(2, 42, 7, 3));
        XsMessage reply = req.reply("x".getBytes(StandardCharsets.US_ASCII));
        assertThat(reply.toBytes()).containsExactly(concat(header(2, 42, 7, 1), new byte[] {'x'}));
        XsMessage err = XsMessage.error(req, XsError.ENOENT);
        assertThat(err.toBytes()).containsExactly(concat(header(16, 42, 7, 7), "ENOENT\0".getBytes(StandardCharsets.US_ASCII)));
        assertThat(new XsMessage(1, 0, 0, null).payload()).isEmpty();
    }

    @Test
    void everyFrameSplitAtEveryBoundaryDecodesTheSame() throws Exception {
        for (XsMessage m : representative()) {
            byte[] bytes = m.toBytes();
            for (int cut = 0; cut <= bytes.length; cut++) {
                XsFrameDecoder d = new XsFrameDecoder();
                List<XsMessage> got = new ArrayList<>();
                d.feed(ByteBuffer.wrap(bytes, 0, cut), got::add);
                if (cut < bytes.length) {
                    assertThat(got).as("cut %d of %s", cut, m).isEmpty();
                    assertThat(d.partial()).as("partial after %d bytes", cut).isEqualTo(cut > 0);
                }
                d.feed(ByteBuffer.wrap(bytes, cut, bytes.length - cut), got::add);
                assertThat(got).as("cut %d of %s", cut, m).containsExactly(m);
                assertThat(d.partial()).isFalse();
            }
        }
    }

    @Test
    void everyFrameFedOneByteAtATime() throws Exception {
        for (XsMessage m : representative()) {
            byte[] bytes = m.toBytes();
            XsFrameDecoder d = new XsFrameDecoder();
            List<XsMessage> got = new ArrayList<>();
            int frames = 0;
            for (int i = 0; i < bytes.length; i++) {
                frames += d.feed(ByteBuffer.wrap(bytes, i, 1), got::add);
                assertThat(frames).isEqualTo(i == bytes.length - 1 ? 1 : 0);
            }
            assertThat(got).containsExactly(m);
        }
    }

    @Test
    void concatenatedFramesSplitAtEveryBoundary() throws Exception {
        List<XsMessage> frames = representative();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (XsMessage m : frames) all.writeBytes(m.toBytes());
        byte[] bytes = all.toByteArray();

        XsFrameDecoder whole = new XsFrameDecoder();
        List<XsMessage> once = new ArrayList<>();
        assertThat(whole.feed(ByteBuffer.wrap(bytes), once::add)).isEqualTo(frames.size());
        assertThat(once).containsExactlyElementsOf(frames);

        for (int cut = 0; cut <= bytes.length; cut++) {
            XsFrameDecoder d = new XsFrameDecoder();
            List<XsMessage> got = new ArrayList<>();
            int n = d.feed(ByteBuffer.wrap(bytes, 0, cut), got::add);
            n += d.feed(ByteBuffer.wrap(bytes, cut, bytes.length - cut), got::add);
            if (!got.equals(frames)) {
                throw new AssertionError("split at " + cut + ": got " + got);
            }
            assertThat(n).isEqualTo(frames.size());
        }
        // One byte at a time, too.
        XsFrameDecoder d = new XsFrameDecoder();
        List<XsMessage> got = new ArrayList<>();
        for (int i = 0; i < bytes.length; i++) d.feed(ByteBuffer.wrap(bytes, i, 1), got::add);
        assertThat(got).containsExactlyElementsOf(frames);
        // Three uneven pieces at many positions.
        for (int a = 0; a <= bytes.length; a += 97) {
            for (int b = a; b <= bytes.length; b += 389) {
                XsFrameDecoder d3 = new XsFrameDecoder();
                List<XsMessage> got3 = decodeAll(d3, java.util.Arrays.copyOfRange(bytes, 0, a),
                        java.util.Arrays.copyOfRange(bytes, a, b), java.util.Arrays.copyOfRange(bytes, b, bytes.length));
                if (!got3.equals(frames)) throw new AssertionError("split at " + a + "," + b);
            }
        }
    }

    @Test
    void bufferPositionIsConsumed() throws Exception {
        byte[] bytes = representative().get(1).toBytes();
        ByteBuffer in = ByteBuffer.allocate(bytes.length + 10);
        in.position(5);
        in.put(bytes);
        in.flip().position(5);
        XsFrameDecoder d = new XsFrameDecoder();
        List<XsMessage> got = new ArrayList<>();
        d.feed(in, got::add);
        assertThat(in.hasRemaining()).isFalse();
        assertThat(got).containsExactly(representative().get(1));
    }

    @Test
    void lengthsUpToPayloadMaxAreAccepted() throws Exception {
        for (int len : new int[] {0, 1, 4095, 4096}) {
            XsFrameDecoder d = new XsFrameDecoder();
            List<XsMessage> got = new ArrayList<>();
            d.feed(ByteBuffer.wrap(header(11, 1, 0, len)), got::add);
            assertThat(got).hasSize(len == 0 ? 1 : 0);
            d.feed(ByteBuffer.wrap(new byte[len]), got::add);
            assertThat(got).hasSize(1);
            assertThat(got.getFirst().length()).isEqualTo(len);
        }
    }

    @Test
    void oversizedLengthsThrowFrameTooLarge() {
        long[] bad = {4097, 0x10000, 0x7fffffffL, 0x80000000L, 0xFFFFFFFFL};
        for (long len : bad) {
            XsFrameDecoder d = new XsFrameDecoder();
            byte[] h = header(2, 0, 0, (int) len);
            assertThatThrownBy(() -> d.feed(ByteBuffer.wrap(h), m -> {}))
                    .as("len %d", len)
                    .isInstanceOfSatisfying(FrameTooLargeException.class, e -> assertThat(e.announced).isEqualTo(len));
            assertThat(d.partial()).isFalse();
        }
        // Header arriving in pieces: the check fires once the length word is complete, not before.
        XsFrameDecoder d = new XsFrameDecoder();
        byte[] h = header(2, 0, 0, 4097);
        for (int i = 0; i < 15; i++) {
            try {
                d.feed(ByteBuffer.wrap(h, i, 1), m -> {});
            } catch (FrameTooLargeException e) {
                throw new AssertionError("thrown early at byte " + i, e);
            }
        }
        assertThatThrownBy(() -> d.feed(ByteBuffer.wrap(h, 15, 1), m -> {})).isInstanceOf(FrameTooLargeException.class);
        // A good frame ahead of the bad header is still delivered.
        XsFrameDecoder d2 = new XsFrameDecoder();
        List<XsMessage> got = new ArrayList<>();
        XsMessage good = representative().get(1);
        assertThatThrownBy(() -> d2.feed(ByteBuffer.wrap(concat(good.toBytes(), header(2, 0, 0, -1))), got::add))
                .isInstanceOf(FrameTooLargeException.class);
        assertThat(got).containsExactly(good);
    }

    @Test
    void unknownTypeCodesAreCarriedRaw() throws Exception {
        for (int code : new int[] {27, 99, 65535, 0x7fffffff, -1}) {
            XsMessage m = new XsMessage(code, 3, 4, Payloads.strings("x"));
            byte[] bytes = m.toBytes();
            assertThat(java.util.Arrays.copyOfRange(bytes, 0, 4)).containsExactly(le(code));
            List<XsMessage> got = decodeAll(new XsFrameDecoder(), bytes);
            assertThat(got).containsExactly(m);
            assertThat(got.getFirst().type()).isEqualTo(code);
            assertThat(got.getFirst().xsType()).isNull();
            assertThat(XsType.name(code)).isEqualTo("TYPE_" + Integer.toUnsignedString(code));
        }
        assertThat(XsType.of(-1)).isNull();
        assertThat(XsType.name(15)).isEqualTo("WATCH_EVENT");
    }

    @Test
    void resetDropsPartialFrame() throws Exception {
        XsFrameDecoder d = new XsFrameDecoder();
        byte[] bytes = representative().get(1).toBytes();
        d.feed(ByteBuffer.wrap(bytes, 0, 20), m -> {});
        assertThat(d.partial()).isTrue();
        d.reset();
        assertThat(d.partial()).isFalse();
        assertThat(decodeAll(d, bytes)).containsExactly(representative().get(1));
    }

    @Test
    void equalityAndToString() {
        XsMessage a = new XsMessage(2, 1, 1, new byte[] {'a', 0});
        XsMessage b = new XsMessage(2, 1, 1, new byte[] {'a', 0});
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
        assertThat(a).isNotEqualTo(new XsMessage(2, 1, 2, new byte[] {'a', 0}));
        assertThat(a.toString()).isEqualTo("READ req=1 tx=1 len=2 \"a|\"");
        assertThat(new XsMessage(99, -1, 0, new byte[] {1}).toString()).isEqualTo("TYPE_99 req=4294967295 tx=0 len=1 \"\\x01\"");
    }
}
