package org.jxen.hypervisor.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jxen.hypervisor.ChannelState;
import org.jxen.hypervisor.ChannelStatus;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.GrantStatus;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.ShutdownReason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real guest JVMs (four in all): events, grants, death and the security checks across process boundaries. */
class GuestProcessTest {
    @TempDir
    Path dir;
    Hypervisor hv;
    HypervisorService service;
    Hypercalls dom0;
    DomainControl ctl;
    final BlockingQueue<Integer> events = new LinkedBlockingQueue<>();
    int virqPort;

    @BeforeEach
    void start() throws Exception {
        hv = new Hypervisor(dir, 64);
        service = HypervisorService.start(hv);
        dom0 = hv.connect(0);
        ctl = dom0.domainControl();
        virqPort = dom0.bindVirq(Hypercalls.VIRQ_DOM_EXC);
        dom0.setEventHandler(events::add, Delivery.BLOCKING);
    }

    @AfterEach
    void stop() throws Exception {
        service.close();
        dom0.close();
        hv.close();
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).isEmpty();
        }
    }

    int take() throws InterruptedException {
        Integer port = events.poll(60, TimeUnit.SECONDS);
        assertThat(port).as("an event arrives").isNotNull();
        return port;
    }

    int runningDomain() throws HypercallException {
        int id = ctl.createDomain(16, 1);
        ctl.unpause(id);
        return id;
    }

    @Test
    void aGuestProcessEchoesSharesAPageAndItsDeathIsReported() throws Exception {
        int id = runningDomain();
        int p0 = dom0.allocUnbound(id);
        Process guest = service.launch(id, EchoKernel.class.getName(), Integer.toString(p0));
        assertThat(take()).as("the echo of the bind's own pending event").isEqualTo(p0);

        GrantMapping xs = dom0.mapGrant(id, DomainLayout.XENSTORE_REF, false);
        MemorySegment mailbox = xs.page();
        assertThat(mailbox.get(ValueLayout.JAVA_INT, EchoKernel.MAGIC_OFF)).isEqualTo(EchoKernel.MAGIC);
        int ref = mailbox.get(ValueLayout.JAVA_INT, EchoKernel.REF_OFF);
        assertThat(dom0.status(p0)).isEqualTo(new ChannelStatus(ChannelState.INTERDOMAIN, id,
                mailbox.get(ValueLayout.JAVA_INT, EchoKernel.PORT_OFF), -1));
        GrantMapping hello = dom0.mapGrant(id, ref, true);
        String expected = EchoKernel.hello(id);
        assertThat(text(hello.page(), expected.length())).isEqualTo(expected);
        GrantStatus writable = null;
        try {
            dom0.mapGrant(id, ref, false);
        } catch (GrantException e) {
            writable = e.status();
        }
        assertThat(writable).isEqualTo(GrantStatus.GENERAL_ERROR);

        int rounds = 1000;
        for (int i = 0; i < rounds; i++) {
            dom0.send(p0);
            assertThat(take()).isEqualTo(p0);
        }
        assertThat(mailbox.get(ValueLayout.JAVA_INT, EchoKernel.ECHOES_OFF)).isEqualTo(rounds + 1);

        guest.destroyForcibly();
        guest.waitFor();
        assertThat(take()).as("VIRQ_DOM_EXC").isEqualTo(virqPort);
        assertThat(ctl.info(id).crashed()).isTrue();
        assertThat(text(hello.page(), expected.length())).as("the dead granter's page stays mapped").isEqualTo(expected);

        ctl.destroy(id);
        assertThat(take()).isEqualTo(virqPort);
        assertThat(dom0.status(p0).state()).isEqualTo(ChannelState.UNBOUND);
        assertThat(text(hello.page(), expected.length())).isEqualTo(expected);
        dom0.unmapGrant(hello.handle());
        dom0.unmapGrant(xs.handle());
        try (var files = Files.list(hv.runDir().dir())) {
            assertThat(files.filter(p -> p.getFileName().toString().startsWith("d" + id + ".")).toList())
                    .as("the dead domain's files go with the last unmap").isEmpty();
        }
    }

    static String text(MemorySegment page, int len) {
        return new String(page.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII);
    }

    @Test
    void aReturningKernelPowersOffAndAPanickingOneCrashes() throws Exception {
        int ok = runningDomain();
        int panic = runningDomain();
        Process a = service.launch(ok, ExitKernel.class.getName(), "ok");
        Process b = service.launch(panic, ExitKernel.class.getName(), "panic");
        assertThat(a.waitFor()).isZero();
        assertThat(b.waitFor()).isEqualTo(1);
        assertThat(take()).isEqualTo(virqPort);
        // Two deaths close together may share one VIRQ_DOM_EXC (one pending bit), as on Xen, where dom0 then
        // looks at every domain: wait for both reasons, accepting a second event if it comes.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while ((ctl.info(ok).shutdownReason() == null || ctl.info(panic).shutdownReason() == null)
                && System.nanoTime() < deadline) {
            Integer more = events.poll(50, TimeUnit.MILLISECONDS);
            if (more != null) assertThat(more).isEqualTo(virqPort);
        }
        assertThat(ctl.info(ok).shutdownReason()).isEqualTo(ShutdownReason.POWEROFF);
        assertThat(ctl.info(panic).shutdownReason()).isEqualTo(ShutdownReason.CRASH);
    }

    @Test
    void aGuestProcessGetsXensErrorsForWhatItMayNotDo() throws Exception {
        int other = runningDomain();
        int id = runningDomain();
        int othersPort = dom0.allocUnbound(other);
        int othersRef = dom0.grantTable().grantAccess(other, 2, true);
        int readonlyRef = dom0.grantTable().grantAccess(id, 3, true);
        Process p = service.launch(id, ProbeKernel.class.getName(), Integer.toString(othersPort),
                Integer.toString(othersRef), Integer.toString(readonlyRef));
        assertThat(p.waitFor()).isZero();
        GrantMapping xs = dom0.mapGrant(id, DomainLayout.XENSTORE_REF, true);
        int[] r = new int[ProbeKernel.RESULTS];
        for (int i = 0; i < r.length; i++) r[i] = xs.page().get(ValueLayout.JAVA_INT, 4L * i);
        assertThat(r).containsExactly(GrantStatus.GENERAL_ERROR.code, GrantStatus.GENERAL_ERROR.code,
                GrantStatus.GENERAL_ERROR.code, Errno.EINVAL.code, Errno.EPERM.code, Errno.EINVAL.code,
                Errno.EPERM.code, 0);
        dom0.unmapGrant(xs.handle());
        assertThat(dom0.grantTable().endAccess(readonlyRef)).as("the probe unmapped what it mapped").isTrue();
        assertThat(dom0.status(othersPort).state()).isEqualTo(ChannelState.UNBOUND);
    }
}
