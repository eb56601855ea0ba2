package org.jxen.ring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.ring.RingFrontendKernel.ENTRY_SIZE;
import static org.jxen.ring.RingFrontendKernel.INT;
import static org.jxen.ring.RingFrontendKernel.LE64;
import static org.jxen.ring.RingFrontendKernel.LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.process.HypervisorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RingStressTest} across two processes with the real event channel: the frontend is a guest JVM
 * ({@link RingFrontendKernel}) that grants the ring page and offers the port, this JVM is dom0 and the backend
 * (maps the grant, binds the port). Each side sleeps on its event channel (futex, {@link Delivery#BLOCKING}) only
 * after its final check found nothing pending, so a lost notification leaves both asleep for good, which the
 * @Timeout turns into a failure. There are no timing assertions. The u32 indices wrap early in the run.
 */
class CrossProcessRingStressTest {
    private static final long N = 200_000;
    private static final int START = 0xFFFFFFF0;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyRequestAndResponseCrossesOnceInOrderWithoutLostNotifications() throws Exception {
        Hypervisor hv = new Hypervisor(dir, 64);
        HypervisorService service = HypervisorService.start(hv);
        Hypercalls dom0 = hv.connect(0);
        Process guest = null;
        try {
            DomainControl ctl = dom0.domainControl();
            int id = ctl.createDomain(16, 1);
            ctl.unpause(id);
            Semaphore toBack = new Semaphore(0);
            boolean[] guestGone = {false};
            dom0.setEventHandler(p -> { }, Delivery.BLOCKING);
            int virq = dom0.bindVirq(Hypercalls.VIRQ_DOM_EXC);
            dom0.onEvent(virq, v -> {
                synchronized (guestGone) {
                    guestGone[0] = true;
                }
                toBack.release();
            });
            guest = service.launch(id, RingFrontendKernel.class.getName(), Long.toString(N),
                    Integer.toUnsignedString(START));

            GrantMapping xs = dom0.mapGrant(id, DomainLayout.XENSTORE_REF, false);
            MemorySegment mailbox = xs.page();
            while ((int) INT.getAcquire(mailbox, RingFrontendKernel.MAGIC_OFF) != RingFrontendKernel.MAGIC) {
                assertThat(guest.isAlive()).as("the frontend is booting").isTrue();
                Thread.sleep(5); // the handshake only: the ring protocol below never polls
            }
            assertThat(mailbox.get(ValueLayout.JAVA_INT, RingFrontendKernel.START_OFF)).isEqualTo(START);
            GrantMapping ringPage = dom0.mapGrant(id, mailbox.get(ValueLayout.JAVA_INT, RingFrontendKernel.REF_OFF), false);
            int port = dom0.bindInterdomain(id, mailbox.get(ValueLayout.JAVA_INT, RingFrontendKernel.PORT_OFF));
            dom0.onEvent(port, p -> toBack.release());
            SharedRingLayout layout = new SharedRingLayout(ringPage.page(), ENTRY_SIZE);
            BackRing back = new BackRing(layout).attach(layout.rspProd());
            assertThat(back.reqCons()).isEqualTo(START);
            dom0.send(port); // connected: the frontend starts producing

            MemorySegment req = Arena.ofAuto().allocate(ENTRY_SIZE, 8);
            long consumed = 0;
            long sleeps = 0;
            while (consumed < N) {
                while (back.copyNextRequest(req)) {
                    long seq = req.get(LE64, 8);
                    assertThat(seq).as("request %d", consumed).isEqualTo(consumed);
                    back.nextResponse().set(LE64, 0, consumed++);
                }
                if (back.pushResponsesAndCheckNotify()) dom0.send(port);
                if (consumed == N) break;
                if (!back.finalCheckForRequests()) {
                    synchronized (guestGone) {
                        assertThat(guestGone[0]).as("the frontend died after %d requests", consumed).isFalse();
                    }
                    sleeps++;
                    toBack.acquire();
                }
            }

            assertThat(guest.waitFor()).as("the frontend's exit code").isZero();
            assertThat((long) LONG.getAcquire(mailbox, RingFrontendKernel.RECEIVED_OFF)).isEqualTo(N);
            assertThat((int) INT.getAcquire(mailbox, RingFrontendKernel.STATUS_OFF)).isEqualTo(RingFrontendKernel.DONE);
            assertThat(back.reqCons()).isEqualTo(START + (int) N);
            assertThat(back.unconsumedRequests()).as("no request beyond N").isZero();
            assertThat(layout.reqProd()).isEqualTo(layout.rspProd()).isEqualTo(START + (int) N);
            System.out.printf("cross-process ring: %d requests, backend slept %d times, frontend %d%n", N, sleeps,
                    mailbox.get(ValueLayout.JAVA_INT, RingFrontendKernel.SLEEPS_OFF));
            dom0.unmapGrant(ringPage.handle());
            dom0.unmapGrant(xs.handle());
            ctl.destroy(id);
        } finally {
            if (guest != null) {
                guest.destroyForcibly();
                guest.waitFor();
            }
            service.close();
            dom0.close();
            hv.close();
        }
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).isEmpty();
        }
    }
}
