package org.jxen.ring;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A frontend thread and a backend thread over one shared page, each sleeping only when its final check says
 * nothing is pending, and woken only by the peer's notify (a Semaphore standing in for the event channel). A
 * lost wake-up leaves both asleep forever, which the @Timeout turns into a failure; there are no timing
 * assertions.
 */
class RingStressTest {
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long N = 1_000_000;
    private static final int START = 0xFFFFFFF0; // the u32 indices wrap early in the run

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void everyRequestIsConsumedOnceInOrderWithoutLostWakeups() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment page = arena.allocate(4096, 4096);
            SharedRingLayout layout = new SharedRingLayout(page, 112);
            layout.init();
            layout.setReqProd(START);
            layout.setRspProd(START);
            layout.setReqEvent(START + 1);
            layout.setRspEvent(START + 1);
            FrontRing front = new FrontRing(layout).attach(START);
            BackRing back = new BackRing(layout).attach(START);
            Semaphore toBack = new Semaphore(0);
            Semaphore toFront = new Semaphore(0);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] workers = new Thread[2];

            Thread frontend = Thread.ofPlatform().daemon().name("frontend").unstarted(guard(failure, workers, () -> {
                MemorySegment rsp = Arena.ofAuto().allocate(112, 8);
                long sent = 0;
                long received = 0;
                while (received < N) {
                    boolean produced = false;
                    while (sent < N && !front.isFull()) {
                        front.nextRequest().set(LE64, 8, sent++);
                        produced = true;
                    }
                    if (produced && front.pushRequestsAndCheckNotify()) toBack.release();
                    while (front.copyNextResponse(rsp)) {
                        long id = rsp.get(LE64, 0);
                        if (id != received) throw new AssertionError("response " + id + ", expected " + received);
                        received++;
                    }
                    if (received == N || (sent < N && !front.isFull())) continue;
                    if (!front.finalCheckForResponses()) {
                        toFront.acquire();
                    }
                }
            }));
            Thread backend = Thread.ofPlatform().daemon().name("backend").unstarted(guard(failure, workers, () -> {
                MemorySegment req = Arena.ofAuto().allocate(112, 8);
                long consumed = 0;
                while (consumed < N) {
                    while (back.copyNextRequest(req)) {
                        long seq = req.get(LE64, 8);
                        if (seq != consumed) throw new AssertionError("request " + seq + ", expected " + consumed);
                        back.nextResponse().set(LE64, 0, consumed++);
                    }
                    if (back.pushResponsesAndCheckNotify()) toFront.release();
                    if (consumed == N) break;
                    if (!back.finalCheckForRequests()) {
                        toBack.acquire();
                    }
                }
            }));
            workers[0] = frontend;
            workers[1] = backend;
            try {
                frontend.start();
                backend.start();
                frontend.join();
                backend.join();
            } finally {
                frontend.interrupt();
                backend.interrupt();
            }
            assertThat(failure.get()).isNull();
            assertThat(front.rspCons()).isEqualTo(START + (int) N);
            assertThat(back.reqCons()).isEqualTo(START + (int) N);
            assertThat(layout.reqProd()).isEqualTo(layout.rspProd()).isEqualTo(START + (int) N);
            assertThat(front.unconsumedResponses()).isZero();
            assertThat(back.unconsumedRequests()).isZero();
        }
    }

    private interface Body {
        void run() throws Exception;
    }

    /** Runs a worker, recording its first failure and interrupting both so the peer does not sleep forever. */
    private static Runnable guard(AtomicReference<Throwable> failure, Thread[] workers, Body body) {
        return () -> {
            try {
                body.run();
            } catch (Throwable t) {
                if (failure.compareAndSet(null, t)) {
                    for (Thread w : workers) if (w != Thread.currentThread()) w.interrupt();
                }
            }
        };
    }
}
