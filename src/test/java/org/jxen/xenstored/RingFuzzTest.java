package org.jxen.xenstored;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.jxen.ring.XenStoreRingLayout;
import org.jxen.xenstored.transport.RingConnection;

/**
 * Coverage-guided fuzzing of the daemon's xenstore ring consumer: a hostile guest writes whatever it likes into
 * its page (request bytes, any index, the reconnection flag) and the daemon must stay inside the page, never
 * fail a task on its event loop, and keep its own indices within one ring of the guest's (XSA-38). One daemon
 * serves every input; each input gets a fresh page and domid.
 */
class RingFuzzTest {
    private static final long CANARY_FROM = XenStoreRingLayout.ERROR_OFFSET + 4;
    private static final byte CANARY = (byte) 0xA5;
    private static XenStoredServer server;
    private static final List<LogRecord> failures = new CopyOnWriteArrayList<>();
    private static final Handler RECORDER = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getThrown() != null) failures.add(r);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    private static int nextDomid = 1;

    @BeforeAll
    static void start() throws IOException {
        server = XenStoredServer.start(new XenStoredServer.Options(null, null));
        Logger.getLogger("jxen.xenstored").addHandler(RECORDER);
    }

    @AfterAll
    static void stop() {
        Logger.getLogger("jxen.xenstored").removeHandler(RECORDER);
        server.close();
    }

    @FuzzTest(maxDuration = "4m")
    void hostileGuest(FuzzedDataProvider data) {
        int domid = nextDomid;
        nextDomid = nextDomid % 30000 + 1;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment page = arena.allocate(XenStoreRingLayout.PAGE_SIZE, 4096);
            page.asSlice(CANARY_FROM).fill(CANARY);
            XenStoreRingLayout ring = new XenStoreRingLayout(page);
            RingConnection rc = server.attachGuestRing(domid, page, () -> {});
            for (int step = 0; step < 32 && data.remainingBytes() > 0; step++) {
                switch (data.consumeInt(0, 5)) {
                    case 0 -> produce(ring, data.consumeBytes(data.consumeInt(0, 1100)));
                    case 1 -> ring.setReqProd(data.consumeInt());
                    case 2 -> ring.setRspCons(data.consumeInt());
                    case 3 -> ring.setRspCons(ring.rspProd()); // a well-behaved guest reads its replies
                    case 4 -> ring.setConnection(data.consumeBoolean() ? XenStoreRingLayout.RECONNECT : data.consumeInt());
                    default -> produce(ring, frame(data));
                }
                rc.notifyFromGuest();
                server.onLoop(e -> null); // the service task ran before this one
                checkInvariants(page, ring);
            }
            rc.close();
            server.onLoop(e -> null);
        }
        assertThat(failures).as("tasks that failed on the event loop").isEmpty();
    }

    /** A frame with a plausible header: a type below 32 and a length the fuzzer picks, then payload bytes. */
    private static byte[] frame(FuzzedDataProvider data) {
        byte[] payload = data.consumeBytes(data.consumeInt(0, 600));
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16 + payload.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(data.consumeInt(0, 31)).putInt(data.consumeInt()).putInt(data.consumeInt(0, 2));
        b.putInt(data.consumeBoolean() ? payload.length : data.consumeInt());
        return b.put(payload).array();
    }

    /** What a guest does to send: bytes at req_prod, then req_prod moved on (without checking for space). */
    private static void produce(XenStoreRingLayout ring, byte[] bytes) {
        int prod = ring.reqProd();
        for (byte b : bytes) {
            ring.page().set(ValueLayout.JAVA_BYTE, XenStoreRingLayout.REQ_OFFSET + (prod & 1023), b);
            prod++;
        }
        ring.setReqProd(prod);
    }

    private static void checkInvariants(MemorySegment page, XenStoreRingLayout ring) {
        for (long i = CANARY_FROM; i < XenStoreRingLayout.PAGE_SIZE; i++) {
            assertThat(page.get(ValueLayout.JAVA_BYTE, i)).as("byte %d outside the ring", i).isEqualTo(CANARY);
        }
        assertThat(ring.error()).isBetween(XenStoreRingLayout.ERROR_NONE, XenStoreRingLayout.ERROR_PROTO);
    }
}
