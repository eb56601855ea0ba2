package org.jxen.ring;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The frontend of {@link CrossProcessRingStressTest}, in a JVM of its own. args: the shared file, N, the first
 * ring index. The file holds a mailbox page (with the two doorbells, {@link FutexDoorbell}, that stand in for the
 * event channel) and the one-page ring at {@link #RING_OFF}. The frontend initialises the ring, publishes the
 * start index in the mailbox and waits for the backend's first notification (the backend has attached: requests
 * before that would find nobody looking). Then it produces N requests carrying their sequence numbers and checks
 * that the N responses echo them in order, sleeping on its doorbell only after
 * {@link FrontRing#finalCheckForResponses()} says nothing is pending. It leaves the count of responses and a
 * status in the mailbox and returns (exit code 0), or throws (exit code 1).
 */
public final class RingFrontendProcess {
    static final int ENTRY_SIZE = 112;
    static final int MAGIC = 0x52494E47; // "RING"
    static final long MAGIC_OFF = 0;
    static final long START_OFF = 12;
    /** long: responses received in order. */
    static final long RECEIVED_OFF = 16;
    /** int: 0 while running, {@link #DONE} when every response arrived in order, {@link #FAILED} otherwise. */
    static final long STATUS_OFF = 24;
    /** int: times the frontend slept on its doorbell (for the report, not asserted). */
    static final long SLEEPS_OFF = 28;
    /** The backend's doorbell (frontend to backend) and the frontend's, each on a cache line of its own. */
    static final long TO_BACK_OFF = 64;
    static final long TO_FRONT_OFF = 128;
    static final long RING_OFF = SharedRingLayout.PAGE_SIZE;
    static final long FILE_SIZE = 2L * SharedRingLayout.PAGE_SIZE;
    static final int DONE = 1;
    static final int FAILED = 2;
    /** Request: the sequence number at offset 8 (where blkif keeps its id). Response: the echo at offset 0. */
    static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private RingFrontendProcess() {}

    /** Maps the whole shared file, MAP_SHARED, for as long as {@code arena} lives. */
    static MemorySegment map(Path file, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, FILE_SIZE, arena);
        }
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        long n = Long.parseLong(args[1]);
        int start = Integer.parseUnsignedInt(args[2]);
        MemorySegment shared = map(file, Arena.global());
        MemorySegment mailbox = shared.asSlice(0, RING_OFF);
        MemorySegment page = shared.asSlice(RING_OFF, SharedRingLayout.PAGE_SIZE);
        FutexDoorbell toBack = new FutexDoorbell(mailbox.asSlice(TO_BACK_OFF, 4));
        FutexDoorbell wake = new FutexDoorbell(mailbox.asSlice(TO_FRONT_OFF, 4));
        SharedRingLayout layout = new SharedRingLayout(page, ENTRY_SIZE);
        layout.init();
        layout.setReqProd(start);
        layout.setRspProd(start);
        layout.setReqEvent(start + 1);
        layout.setRspEvent(start + 1);
        FrontRing front = new FrontRing(layout).attach(start);

        mailbox.set(ValueLayout.JAVA_INT, START_OFF, start);
        INT.setRelease(mailbox, MAGIC_OFF, MAGIC);
        wake.await(); // the backend attached and said so

        MemorySegment rsp = Arena.ofAuto().allocate(ENTRY_SIZE, 8);
        long sent = 0;
        long received = 0;
        try {
            while (received < n) {
                boolean produced = false;
                while (sent < n && !front.isFull()) {
                    front.nextRequest().set(LE64, 8, sent++);
                    produced = true;
                }
                if (produced && front.pushRequestsAndCheckNotify()) toBack.notifyPeer();
                while (front.copyNextResponse(rsp)) {
                    long id = rsp.get(LE64, 0);
                    if (id != received) throw new AssertionError("response " + id + ", expected " + received);
                    received++;
                    LONG.setRelease(mailbox, RECEIVED_OFF, received);
                }
                if (received == n || (sent < n && !front.isFull())) continue;
                if (!front.finalCheckForResponses()) {
                    mailbox.set(ValueLayout.JAVA_INT, SLEEPS_OFF, mailbox.get(ValueLayout.JAVA_INT, SLEEPS_OFF) + 1);
                    wake.await();
                }
            }
            if (front.unconsumedResponses() != 0 || layout.rspProd() != start + (int) n) {
                throw new AssertionError("responses beyond " + n + ": rsp_prod " + Integer.toUnsignedString(layout.rspProd()));
            }
        } catch (Throwable t) {
            INT.setRelease(mailbox, STATUS_OFF, FAILED);
            throw t;
        }
        INT.setRelease(mailbox, STATUS_OFF, DONE);
    }
}
