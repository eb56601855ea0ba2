package org.jxen.ring;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.concurrent.Semaphore;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.process.GuestKernel;

/**
 * The frontend of {@link CrossProcessRingStressTest}, in its own guest JVM. args: N, the first ring index. Grants
 * dom0 frame {@link #RING_FRAME} as a one-page ring, offers dom0 an unbound port, publishes ref, port and start
 * index in a mailbox on its xenstore page (which dom0 maps through reserved ref 1), and waits for dom0's first
 * event (dom0 has bound the port: a send before that would be dropped). Then it produces N requests carrying
 * their sequence numbers and checks that the N responses echo them in order, sleeping on its event channel only
 * after {@link FrontRing#finalCheckForResponses()} says nothing is pending. It leaves the count of responses and
 * a status in the mailbox and returns (power off, exit code 0), or throws (crash, exit code 1).
 */
public final class RingFrontendKernel implements GuestKernel {
    static final int ENTRY_SIZE = 112;
    static final int RING_FRAME = 2;
    static final int MAGIC = 0x52494E47; // "RING"
    static final long MAGIC_OFF = 0;
    static final long REF_OFF = 4;
    static final long PORT_OFF = 8;
    static final long START_OFF = 12;
    /** long: responses received in order. */
    static final long RECEIVED_OFF = 16;
    /** int: 0 while running, {@link #DONE} when every response arrived in order, {@link #FAILED} otherwise. */
    static final long STATUS_OFF = 24;
    /** int: times the frontend slept on its event channel (for the report, not asserted). */
    static final long SLEEPS_OFF = 28;
    static final int DONE = 1;
    static final int FAILED = 2;
    /** Request: the sequence number at offset 8 (where blkif keeps its id). Response: the echo at offset 0. */
    static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    @Override
    public void boot(Hypercalls hc, String[] args) throws Exception {
        long n = Long.parseLong(args[0]);
        int start = Integer.parseUnsignedInt(args[1]);
        MemorySegment mailbox = hc.frame(DomainLayout.XENSTORE_FRAME);
        MemorySegment page = hc.frame(RING_FRAME);
        SharedRingLayout layout = new SharedRingLayout(page, ENTRY_SIZE);
        layout.init();
        layout.setReqProd(start);
        layout.setRspProd(start);
        layout.setReqEvent(start + 1);
        layout.setRspEvent(start + 1);
        FrontRing front = new FrontRing(layout).attach(start);

        Semaphore wake = new Semaphore(0);
        int port = hc.allocUnbound(0);
        hc.setEventHandler(p -> wake.release(), Delivery.BLOCKING);
        int ref = hc.grantTable().grantAccess(0, RING_FRAME, false);
        mailbox.set(ValueLayout.JAVA_INT, REF_OFF, ref);
        mailbox.set(ValueLayout.JAVA_INT, PORT_OFF, port);
        mailbox.set(ValueLayout.JAVA_INT, START_OFF, start);
        INT.setRelease(mailbox, MAGIC_OFF, MAGIC);
        wake.acquire(); // dom0 bound the port and said so

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
                if (produced && front.pushRequestsAndCheckNotify()) hc.send(port);
                while (front.copyNextResponse(rsp)) {
                    long id = rsp.get(LE64, 0);
                    if (id != received) throw new AssertionError("response " + id + ", expected " + received);
                    received++;
                    LONG.setRelease(mailbox, RECEIVED_OFF, received);
                }
                if (received == n || (sent < n && !front.isFull())) continue;
                if (!front.finalCheckForResponses()) {
                    mailbox.set(ValueLayout.JAVA_INT, SLEEPS_OFF, mailbox.get(ValueLayout.JAVA_INT, SLEEPS_OFF) + 1);
                    wake.acquire();
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
