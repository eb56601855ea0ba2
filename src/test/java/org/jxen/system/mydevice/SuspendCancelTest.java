package org.jxen.system.mydevice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.jxen.system.mydevice.SplitDriverHarness.be;
import static org.jxen.system.mydevice.SplitDriverHarness.fe;

import java.nio.file.Path;
import java.time.Duration;
import org.jxen.drivers.mydevice.MyDeviceFront;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.ShutdownReason;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.Host;
import org.jxen.xenbus.XenbusState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Linux's do_suspend through the toolstack's suspend and a cancelled resume (what a checkpoint or a failed save
 * does): the guest acknowledges, its frontends' suspend runs, it stops in the suspend hypercall with reason
 * suspend (and is not destroyed for it), and on xc_domain_resume(fast) the hypercall returns 1: the mydevice
 * connection is kept, nothing reconnects.
 */
@Timeout(180)
class SuspendCancelTest {
    @TempDir
    Path dir;
    private SplitDriverHarness h;

    @BeforeEach
    void start() throws Exception {
        h = new SplitDriverHarness(dir);
    }

    @AfterEach
    void stop() {
        h.close();
    }

    @ParameterizedTest(name = "own process: {0}")
    @ValueSource(booleans = {false, true})
    void aSuspendCancelledKeepsTheDeviceConnected(boolean ownProcess) throws Exception {
        Host.Guest g = h.guest("front", ownProcess, MyDeviceFront.NAME);
        int domid = g.domid();
        h.awaitDmesg(domid, "Hello World!");
        h.libxlAdd(domid, 0);
        h.awaitState(fe(domid, 0), XenbusState.CONNECTED);
        h.awaitState(be(domid, 0), XenbusState.CONNECTED);
        h.awaitDmesg(domid, MyDeviceHandshakeTest.HELLO_LINE);

        h.host.suspend(domid, Duration.ofSeconds(30));
        DomainInfo info = h.host.dom0Kernel().hypercalls().domainControl().info(domid);
        assertThat(info.state()).isEqualTo(DomainState.SHUTDOWN);
        assertThat(info.shutdownReason()).isEqualTo(ShutdownReason.SUSPEND);
        assertThat(h.readOrNull("/local/domain/" + domid + "/control/shutdown")).as("acknowledged").isEmpty();
        SplitDriverHarness.awaitLine(h.host.dom0Kernel().log(), "toolstack: domain " + domid + " (front) has suspended");
        assertThat(h.host.guests()).as("a suspended guest is not destroyed").extracting(Host.Guest::domid).contains(domid);
        // Another domain's life (VIRQ_DOM_EXC again) does not repeat the suspended domain's line.
        Host.Guest other = h.guest("other", false);
        h.host.destroy(other.domid());
        SplitDriverHarness.awaitLine(h.host.dom0Kernel().log(), "toolstack: destroying domain " + other.domid() + " (other)");
        assertThat(h.host.dom0Kernel().log().lines()).filteredOn(("toolstack: domain " + domid + " (front) has suspended")::equals)
                .hasSize(1);

        h.host.resume(domid, true);
        // The guest's log reaches data/dmesg through its own store ring, which a suspended domain does not serve.
        h.awaitDmesg(domid, "xen:manage: suspending xenbus devices");
        h.awaitDmesg(domid, "xen:manage: suspend cancelled, devices kept");
        assertThat(h.host.dom0Kernel().hypercalls().domainControl().info(domid).state()).isEqualTo(DomainState.RUNNING);
        assertThat(h.readOrNull(fe(domid, 0) + "/state")).isEqualTo("4");
        assertThat(h.readOrNull(be(domid, 0) + "/state")).isEqualTo("4");
        String dmesg = h.readOrNull("/local/domain/" + domid + "/data/dmesg");
        assertThat(dmesg.lines().filter("Connecting the frontend now."::equals)).as("no reconnection").hasSize(1);

        // A second resume is refused: the domain is running, not suspended.
        HypercallException again = catchThrowableOfType(HypercallException.class, () -> h.host.resume(domid, true));
        assertThat(again.getMessage()).contains("is not suspended");
    }

    @Test
    void aGuestThatDoesNotAcknowledgeHasTheRequestTakenBack() throws Exception {
        // A domain home with a control node but no kernel answering it: libxl's 60 s rule, shortened.
        h.xs.write("/local/domain/77/control/shutdown", "");
        DeviceException e = catchThrowableOfType(DeviceException.class,
                () -> h.host.libxl().requestSuspend(77, Duration.ofMillis(300)));
        assertThat(e.getMessage()).isEqualTo("guest didn't acknowledge suspend, cancelling request");
        assertThat(h.readOrNull("/local/domain/77/control/shutdown")).isEmpty();
    }
}
