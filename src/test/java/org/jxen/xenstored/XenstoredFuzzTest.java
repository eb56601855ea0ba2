package org.jxen.xenstored;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jxen.xenstore.XsFrameDecoder;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.jxen.xenstore.XsWire;
import org.jxen.xenstored.engine.Connection;
import org.jxen.xenstored.engine.ConnectionIo;
import org.jxen.xenstored.engine.XenStoreEngine;

/**
 * Coverage-guided fuzzing (Jazzer) of what a xenstored client controls: the byte stream the xs_wire decoder
 * reassembles, and the requests the engine then handles, from dom0 and from an unprivileged guest. In
 * {@code mvn verify} each target runs once per input under {@code XenstoredFuzzTestInputs/<method>/} (the
 * regression corpus, crashes found included); {@code JAZZER_FUZZ=1} fuzzes (docs/xenstored.md).
 *
 * <p>Properties: nothing but the documented FrameTooLargeException escapes the decoder; the engine never
 * throws, answers every request with exactly one reply whose payload fits xs_wire, keeps its tree and
 * accounting consistent (CONTROL check), and holds an unprivileged connection to its quotas.
 */
class XenstoredFuzzTest {
    /** A peer that records nothing: the test drains the engine itself. */
    private static final ConnectionIo IO = new ConnectionIo() {
        @Override
        public void outputReady(Connection c) {}

        @Override
        public void close(Connection c) {}
    };

    @FuzzTest(maxDuration = "4m")
    void frameDecoder(FuzzedDataProvider data) {
        XsFrameDecoder decoder = new XsFrameDecoder();
        List<XsMessage> frames = new ArrayList<>();
        ByteBuffer all = ByteBuffer.wrap(data.consumeRemainingAsBytes());
        int total = all.remaining();
        // Feed in chunks whose sizes come from the input's own bytes, so splits land anywhere.
        int chunk = total == 0 ? 1 : (all.get(0) & 0x1f) + 1;
        try {
            while (all.hasRemaining()) {
                ByteBuffer part = all.slice(all.position(), Math.min(chunk, all.remaining()));
                decoder.feed(part, frames::add);
                assertThat(part.hasRemaining()).isFalse();
                all.position(all.position() + part.capacity());
            }
        } catch (XsFrameDecoder.FrameTooLargeException e) {
            assertThat(e.announced).isGreaterThan(XsWire.PAYLOAD_MAX);
            return;
        }
        long consumed = 0;
        for (XsMessage m : frames) {
            assertThat(m.length()).isBetween(0, XsWire.PAYLOAD_MAX);
            consumed += m.frameSize();
        }
        assertThat(consumed).isLessThanOrEqualTo(total);
        assertThat(decoder.partial()).isEqualTo(consumed < total);
    }

    @FuzzTest(maxDuration = "4m")
    void requests(FuzzedDataProvider data) {
        XenStoreEngine engine = new XenStoreEngine();
        Connection dom0 = engine.connect(IO, 0, true, "fuzz");
        handle(engine, dom0, XsType.INTRODUCE, 0, "5\0" + "1005\0" + "5\0");
        handle(engine, dom0, XsType.MKDIR, 0, "/local/domain/5\0");
        handle(engine, dom0, XsType.SET_PERMS, 0, "/local/domain/5\0n5\0");
        Connection guest = engine.connect(IO, 5, false, "fuzz");
        int requests = 0;
        while (data.remainingBytes() > 0 && requests++ < 64) {
            // A fuzzed RELEASE of domain 5 closes the guest's connection; from then on only dom0 speaks.
            boolean guestOpen = engine.connections().contains(guest);
            Connection c = data.consumeBoolean() && guestOpen ? guest : dom0;
            int type = data.consumeBoolean() ? data.consumeInt(0, XsType.SET_QUOTA.code + 1) : data.consumeInt();
            int tx = data.consumeBoolean() ? data.consumeInt(0, 3) : data.consumeInt();
            byte[] payload = data.consumeBytes(data.consumeInt(0, XsWire.PAYLOAD_MAX));
            // dom0's CONTROL logfile/memreport write a file the request names, as in C; keep them off the disk.
            if (type == XsType.CONTROL.code && writesFile(payload)) payload = "help\0".getBytes(StandardCharsets.US_ASCII);
            if (!engine.canAcceptInput(c)) drain(engine, c);
            int before = c.queuedReplies();
            engine.handle(c, new XsMessage(type, 42, tx, payload));
            assertThat(c.queuedReplies()).as("one reply per request").isEqualTo(before + 1);
            if (c == guest) {
                assertThat(guest.watchCount()).isLessThanOrEqualTo(128);
                assertThat(guest.transactionCount()).isLessThanOrEqualTo(10);
            }
            // Leave the other side's output unread now and then: bounded queues must hold (XSA-326).
            drain(engine, data.consumeBoolean() ? dom0 : guest);
        }
        drain(engine, dom0);
        drain(engine, guest);
        assertThat(engine.check()).isEmpty();
    }

    private static boolean writesFile(byte[] payload) {
        String p = new String(payload, StandardCharsets.ISO_8859_1);
        return p.startsWith("memreport") || p.startsWith("logfile") || p.startsWith("log");
    }

    private static void handle(XenStoreEngine engine, Connection c, XsType type, int tx, String payload) {
        engine.handle(c, XsMessage.of(type, 1, tx, payload.getBytes(StandardCharsets.ISO_8859_1)));
        drain(engine, c);
    }

    private static void drain(XenStoreEngine engine, Connection c) {
        XsMessage m;
        while ((m = engine.nextOutput(c)) != null) {
            assertThat(m.length()).isBetween(0, XsWire.PAYLOAD_MAX);
            if (m.type() != XsType.WATCH_EVENT.code) assertThat(m.reqId()).isIn(1, 42);
        }
    }
}
