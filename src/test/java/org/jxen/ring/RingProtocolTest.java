package org.jxen.ring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** FrontRing and BackRing against each other on one page of 112-byte (blkif-sized) entries: 32 slots. */
class RingProtocolTest {
    static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int ENTRY = 112;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment page = arena.allocate(4096, 4096);
    private final SharedRingLayout layout = new SharedRingLayout(page, ENTRY);
    private final FrontRing front = new FrontRing(layout).init();
    private final BackRing back = new BackRing(layout);
    private final MemorySegment buf = arena.allocate(ENTRY, 8);

    @AfterEach
    void free() {
        arena.close();
    }

    /** Puts the whole ring at index {@code i}, as a reconnection to a quiesced ring would find it. */
    private void startAt(int i) {
        layout.setReqProd(i);
        layout.setRspProd(i);
        layout.setReqEvent(i + 1);
        layout.setRspEvent(i + 1);
        front.attach(i);
        back.attach(i);
    }

    @Test
    void initialisedRingIsEmptyAndFree() {
        assertThat(front.size()).isEqualTo(32);
        assertThat(front.freeRequests()).isEqualTo(32);
        assertThat(front.unconsumedResponses()).isZero();
        assertThat(back.unconsumedRequests()).isZero();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 0xFFFFFFF0, 0xFFFFFFFF, 0x7FFFFFF8})
    void manyRequestsAndResponsesCrossTheIndexWrap(int start) {
        startAt(start);
        long sent = 0;
        long answered = 0;
        long received = 0;
        for (int round = 0; round < 200; round++) {
            int batch = 1 + round % 32;
            for (int i = 0; i < batch && !front.isFull(); i++) front.nextRequest().set(LE64, 8, sent++);
            front.pushRequestsAndCheckNotify();
            while (back.copyNextRequest(buf)) {
                assertThat(buf.get(LE64, 8)).isEqualTo(answered);
                back.nextResponse().set(LE64, 0, ~answered++);
            }
            back.pushResponsesAndCheckNotify();
            while (front.copyNextResponse(buf)) assertThat(buf.get(LE64, 0)).isEqualTo(~received++);
            assertThat(front.freeRequests()).isEqualTo(32);
        }
        assertThat(received).isEqualTo(sent).isGreaterThan(0x100000000L - 0xFFFFFFF0L);
        assertThat(front.rspCons()).isEqualTo(start + (int) sent);
        assertThat(layout.reqProd()).isEqualTo(layout.rspProd()).isEqualTo(start + (int) sent);
    }

    @Test
    void theFrontendNeverHasMoreThanARingOutstanding() {
        for (int i = 0; i < 32; i++) front.nextRequest();
        assertThat(front.isFull()).isTrue();
        assertThatThrownBy(front::nextRequest).isInstanceOf(IllegalStateException.class);
        front.pushRequestsAndCheckNotify();
        assertThat(back.copyNextRequest(buf)).isTrue();
        back.nextResponse();
        back.pushResponsesAndCheckNotify();
        assertThat(front.isFull()).isTrue(); // a response occupies its slot until consumed
        assertThat(front.copyNextResponse(buf)).isTrue();
        assertThat(front.freeRequests()).isEqualTo(1);
    }

    @Test
    void theBackendRespondsOnlyToConsumedRequests() {
        assertThatThrownBy(back::nextResponse).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void requestsAreInvisibleUntilPushed() {
        front.nextRequest().set(LE64, 8, 42);
        assertThat(back.unconsumedRequests()).isZero();
        front.pushRequestsAndCheckNotify();
        assertThat(back.unconsumedRequests()).isEqualTo(1);
    }

    /**
     * RING_PUSH_*_AND_CHECK_NOTIFY, hand-computed: notify iff (new - event) &lt; (new - old) as u32, i.e. iff the
     * consumer's event index lies in (old, new].
     */
    @ParameterizedTest(name = "old {0}, pushed {1}, event {2}: notify {3}")
    @CsvSource({
        "0, 1, 1, true", //                 fresh ring: event 1, first request
        "0, 3, 1, true", //                 1 in (0,3]
        "0, 3, 3, true", //                 new - event = 0 < 3
        "0, 3, 4, false", //                consumer wants the 4th: 3-4 = 0xFFFFFFFF, not < 3
        "0, 3, 0, false", //                stale event == old: 3 < 3 is false (consumer is still busy)
        "5, 2, 3, false", //                event behind old: consumer has not re-armed
        "5, 2, 6, true", //                 event = old + 1
        "5, 2, 7, true", //                 event = new
        "4294967294, 4, 4294967295, true", // old 0xFFFFFFFE, new 2: 2 - 0xFFFFFFFF = 3 < 4
        "4294967294, 4, 0, true", //        event wrapped to 0: 2 < 4
        "4294967294, 4, 2, true", //        event == new: 0 < 4
        "4294967294, 4, 3, false", //       event == new + 1: 0xFFFFFFFF
        "4294967294, 4, 4294967294, false", // event == old: 4 < 4 false
        "4294967294, 0, 4294967295, false", // nothing pushed: never notify
    })
    void requestNotifyFollowsTheEventIndex(long old, int pushed, long event, boolean notify) {
        startAt((int) old);
        layout.setReqEvent((int) event);
        for (int i = 0; i < pushed; i++) front.nextRequest();
        assertThat(front.pushRequestsAndCheckNotify()).isEqualTo(notify);
        assertThat(Integer.toUnsignedLong(layout.reqProd())).isEqualTo((old + pushed) & 0xFFFFFFFFL);
    }

    @ParameterizedTest(name = "old {0}, pushed {1}, event {2}: notify {3}")
    @CsvSource({
        "0, 1, 1, true", "0, 3, 4, false", "0, 3, 0, false", "5, 2, 7, true",
        "4294967294, 4, 4294967295, true", "4294967294, 4, 3, false",
    })
    void responseNotifyFollowsTheEventIndex(long old, int pushed, long event, boolean notify) {
        startAt((int) old);
        for (int i = 0; i < pushed; i++) front.nextRequest();
        front.pushRequestsAndCheckNotify();
        for (int i = 0; i < pushed; i++) {
            assertThat(back.copyNextRequest(buf)).isTrue();
            back.nextResponse();
        }
        layout.setRspEvent((int) event);
        assertThat(back.pushResponsesAndCheckNotify()).isEqualTo(notify);
    }

    @Test
    void finalCheckForResponsesArmsTheEventSoTheNextPushNotifies() {
        startAt(0xFFFFFFFE);
        front.nextRequest();
        front.nextRequest();
        front.pushRequestsAndCheckNotify();
        back.copyNextRequest(buf);
        back.copyNextRequest(buf);
        layout.setRspEvent(0); // stale: the frontend has not asked for an event
        back.nextResponse();
        assertThat(back.pushResponsesAndCheckNotify()).isFalse(); // nobody is waiting
        assertThat(front.finalCheckForResponses()).isTrue(); // pending: the event is left alone
        assertThat(layout.rspEvent()).isZero();
        assertThat(front.copyNextResponse(buf)).isTrue();
        assertThat(front.finalCheckForResponses()).isFalse();
        assertThat(layout.rspEvent()).isEqualTo(front.rspCons() + 1).isEqualTo(0);
        back.nextResponse();
        assertThat(back.pushResponsesAndCheckNotify()).isTrue(); // the wake-up is not lost
    }

    @Test
    void finalCheckForRequestsArmsTheEventSoTheNextPushNotifies() {
        front.nextRequest();
        front.pushRequestsAndCheckNotify();
        assertThat(back.finalCheckForRequests()).isTrue();
        assertThat(layout.reqEvent()).isEqualTo(1);
        back.copyNextRequest(buf);
        assertThat(back.finalCheckForRequests()).isFalse();
        assertThat(layout.reqEvent()).isEqualTo(2);
        front.nextRequest();
        front.nextRequest();
        assertThat(front.pushRequestsAndCheckNotify()).isTrue();
        // a second push before the backend re-arms must not notify again
        front.nextRequest();
        assertThat(front.pushRequestsAndCheckNotify()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 5, 0xFFFFFFF8, 0xFFFFFFE0})
    void aProducerIndexMoreThanARingAheadHaltsTheBackend(int start) {
        startAt(start);
        layout.setReqProd(start + 32); // a full ring is legitimate
        assertThat(back.unconsumedRequests()).isEqualTo(32);
        layout.setReqProd(start + 32 + 1); // RING_REQUEST_PROD_OVERFLOW, wrapping for the high starts
        MemorySegment before = arena.allocate(4096).copyFrom(page);
        assertThatThrownBy(back::unconsumedRequests).isInstanceOf(RingOverflowException.class)
                .hasMessageContaining("33 entries past");
        // halted: whatever the frontend does now, the backend neither reads nor writes the ring
        layout.setReqProd(start + 1);
        assertThatThrownBy(() -> back.copyNextRequest(buf)).isInstanceOf(RingOverflowException.class);
        assertThatThrownBy(back::finalCheckForRequests).isInstanceOf(RingOverflowException.class);
        assertThatThrownBy(back::pushResponsesAndCheckNotify).isInstanceOf(RingOverflowException.class);
        assertThatThrownBy(back::nextResponse).isInstanceOf(RingOverflowException.class);
        layout.setReqProd(start + 32 + 1);
        assertThat(page.mismatch(before)).isEqualTo(-1);
    }

    @Test
    void aProducerIndexBehindTheConsumerIsAnOverflowToo() {
        startAt(0);
        layout.setReqProd(-1); // 0xFFFFFFFF - rsp_prod_pvt is far beyond the ring
        RingOverflowException e = org.junit.jupiter.api.Assertions.assertThrows(RingOverflowException.class,
                () -> back.copyNextRequest(buf));
        assertThat(e.producer()).isEqualTo(-1);
        assertThat(e.base()).isZero();
        assertThat(e.size()).isEqualTo(32);
    }

    @Test
    void overflowIsMeasuredFromRspProdPvtAndConsumingStopsAtTheRing() {
        startAt(100);
        layout.setReqProd(100 + 32);
        assertThat(back.requestProdOverflow(100 + 32)).isFalse();
        assertThat(back.requestProdOverflow(100 + 33)).isTrue();
        for (int i = 0; i < 32; i++) assertThat(back.copyNextRequest(buf)).isTrue();
        assertThat(back.requestConsOverflow(back.reqCons())).isTrue();
        assertThat(back.copyNextRequest(buf)).isFalse();
        back.nextResponse();
        assertThat(back.requestConsOverflow(back.reqCons())).isFalse();
        assertThat(back.requestProdOverflow(100 + 33)).isFalse();
    }

    @Test
    void aResponseProducerMoreThanARingAheadHaltsTheFrontend() {
        startAt(0xFFFFFFF0);
        layout.setRspProd(0xFFFFFFF0 + 33);
        assertThatThrownBy(front::unconsumedResponses).isInstanceOf(RingOverflowException.class);
        assertThatThrownBy(front::nextRequest).isInstanceOf(RingOverflowException.class);
    }

    @Test
    void copiedRequestsAreUnaffectedByLaterWritesToTheSharedSlot() {
        MemorySegment req = front.nextRequest();
        req.set(LE64, 8, 1234);
        req.set(ValueLayout.JAVA_BYTE, 1, (byte) 11);
        front.pushRequestsAndCheckNotify();
        assertThat(back.copyNextRequest(buf)).isTrue();
        // a hostile frontend rewrites the slot after the copy, hoping for a double fetch
        MemorySegment shared = page.asSlice(layout.entryOffset(0), ENTRY);
        shared.set(LE64, 8, 9999);
        shared.set(ValueLayout.JAVA_BYTE, 1, (byte) 200);
        assertThat(buf.get(LE64, 8)).isEqualTo(1234);
        assertThat(buf.get(ValueLayout.JAVA_BYTE, 1)).isEqualTo((byte) 11);
    }

    @Test
    void copiesMayBeShorterThanAnEntryButNotLonger() {
        front.nextRequest().set(LE64, 0, 7);
        front.pushRequestsAndCheckNotify();
        MemorySegment small = arena.allocate(8, 8);
        back.copyRequest(0, small);
        assertThat(small.get(LE64, 0)).isEqualTo(7);
        assertThatThrownBy(() -> back.copyNextRequest(arena.allocate(ENTRY + 1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void slotsAreViewsAtXensByteOffsets() {
        startAt(30);
        front.nextRequest().set(LE64, 8, 0x1111);
        front.nextRequest().set(LE64, 8, 0x2222);
        front.nextRequest().set(LE64, 8, 0x3333); // index 32 is slot 0
        assertThat(page.get(LE64, 64 + 30 * ENTRY + 8)).isEqualTo(0x1111);
        assertThat(page.get(LE64, 64 + 31 * ENTRY + 8)).isEqualTo(0x2222);
        assertThat(page.get(LE64, 64 + 8)).isEqualTo(0x3333);
    }

    @Test
    void attachPicksUpAnExistingRing() {
        startAt(0x12345678);
        front.nextRequest().set(LE64, 8, 5);
        front.pushRequestsAndCheckNotify();
        BackRing reconnected = new BackRing(layout).attach(layout.rspProd());
        assertThat(reconnected.copyNextRequest(buf)).isTrue();
        assertThat(buf.get(LE64, 8)).isEqualTo(5);
        reconnected.nextResponse().set(LE64, 0, 6);
        reconnected.pushResponsesAndCheckNotify();
        FrontRing again = new FrontRing(layout).attach(0x12345678 + 1);
        assertThat(again.unconsumedResponses()).isZero();
        assertThat(front.copyNextResponse(buf)).isTrue();
        assertThat(buf.get(LE64, 0)).isEqualTo(6);
    }
}
