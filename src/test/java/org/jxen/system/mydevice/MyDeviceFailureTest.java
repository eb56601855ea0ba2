package org.jxen.system.mydevice;

import org.jxen.drivers.mydevice.MyDeviceFront;
import org.jxen.drivers.mydevice.MyDeviceBack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.system.mydevice.SplitDriverHarness.awaitCount;
import static org.jxen.system.mydevice.SplitDriverHarness.awaitLine;
import static org.jxen.system.mydevice.SplitDriverHarness.awaitTrue;
import static org.jxen.system.mydevice.SplitDriverHarness.be;
import static org.jxen.system.mydevice.SplitDriverHarness.fe;

import java.nio.file.Path;
import org.jxen.toolstack.Host;
import org.jxen.kernel.Kernel;
import org.jxen.xenbus.Xenbus;
import org.jxen.xenbus.XenbusState;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference's failure scenarios, each ending in a defined state with a clear message while the host
 * keeps working. (A killed guest is in {@link MyDeviceHandshakeTest}; the illegal transition in XenbusBusTest.)
 */
@Timeout(180)
class MyDeviceFailureTest {
    private static final String HELLO = MyDeviceHandshakeTest.HELLO_LINE;

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

    private Kernel connectedGuest(Host.Guest g) throws Exception {
        Kernel guest = h.kernel(g.domid());
        h.libxlAdd(g.domid(), 0);
        h.awaitState(fe(g.domid(), 0), XenbusState.CONNECTED);
        h.awaitState(be(g.domid(), 0), XenbusState.CONNECTED);
        awaitLine(guest.log(), HELLO);
        return guest;
    }

    private void nothingLeaks(Kernel guest) throws Exception {
        awaitTrue("resources released", () -> h.dom0().xenbusResources().snapshot().isEmpty()
                && guest.xenbusResources().snapshot().isEmpty());
    }

    /** The host still adds and connects a fresh device. */
    private void hostKeepsWorking(int domid, Kernel guest, int dev) throws Exception {
        int hellos = (int) guest.log().lines().stream().filter(HELLO::equals).count();
        h.libxlAdd(domid, dev);
        h.awaitState(fe(domid, dev), XenbusState.CONNECTED);
        h.awaitState(be(domid, dev), XenbusState.CONNECTED);
        awaitCount(guest.log(), HELLO, hellos + 1);
    }

    @Test
    void backendStateWrittenBeforeTheFrontendDirectoryExists() throws Exception {
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = h.kernel(g.domid());
        int u = g.domid();
        h.xs.transaction(tx -> {
            tx.mkdir(be(u, 0));
            tx.setPerms(be(u, 0), XsPerms.of(new XsPerm(0, false, false), new XsPerm(u, true, false)));
            tx.write(be(u, 0) + "/frontend", fe(u, 0));
            tx.write(be(u, 0) + "/frontend-id", Integer.toString(u));
            tx.write(be(u, 0) + "/online", "1");
            tx.write(be(u, 0) + "/state", "1");
            return null;
        });

        // Linux's read_otherend_details: the probe fails and the device is closed with the reason.
        h.awaitState(be(u, 0), XenbusState.CLOSING);
        assertThat(h.xs.readString("/local/domain/0/error/backend/mydevice/" + u + "/0/error"))
                .isEqualTo("2 unable to read other end from " + be(u, 0) + ".  missing or inaccessible.");
        // The bus logs the failed probe after dev_fatal has switched the state, so wait for the line.
        awaitLine(h.dom0().log(), "xenbus: probe of " + be(u, 0) + " failed");

        // The frontend that shows up late finds its backend closing and closes too.
        h.xs.transaction(tx -> {
            tx.mkdir(fe(u, 0));
            tx.setPerms(fe(u, 0), XsPerms.of(new XsPerm(u, false, false), new XsPerm(0, true, false)));
            tx.write(fe(u, 0) + "/backend", be(u, 0));
            tx.write(fe(u, 0) + "/backend-id", "0");
            tx.write(fe(u, 0) + "/state", "1");
            return null;
        });
        h.awaitState(fe(u, 0), XenbusState.CLOSED);

        h.xs.rm(fe(u, 0));
        h.xs.rm(be(u, 0));
        hostKeepsWorking(u, guest, 1);
    }

    @Test
    void frontendThatNeverAnswersClosingIsRemovedByForce() throws Exception {
        Host.Guest g = h.guest("deaf", false);
        Kernel guest = h.kernel(g.domid());
        guest.load(new DeafFront());
        connectedGuest(g);

        boolean closed = h.libxlRemove(g.domid(), 0, 2);

        assertThat(closed).as("backend reached Closed although the frontend never answered").isFalse();
        awaitLine(h.dom0().log(), "xenbus: " + be(g.domid(), 0) + " state set to Closing by the toolstack");
        awaitTrue("devices gone", () -> h.dom0().xenbus().backend().devices().isEmpty()
                && guest.xenbus().frontend().devices().isEmpty());
        nothingLeaks(guest);
    }

    @Test
    void unloadingAFrontendThatNeverClosesGivesUpAfterItsTimeout() throws Exception {
        Host.Guest g = h.guest("deaf", false);
        Kernel guest = h.kernel(g.domid());
        guest.load(new DeafFront());
        connectedGuest(g);

        guest.unload("deaffront");

        awaitLine(guest.log(), "xenbus: " + fe(g.domid(), 0) + " timeout closing device");
        // Removed anyway: Closed written, so the backend closes too; nothing held on either side.
        h.awaitState(be(g.domid(), 0), XenbusState.CLOSED);
        nothingLeaks(guest);
    }

    @Test
    void deviceRemovedAndReAddedBeforeCleanupIsProbedAfresh() throws Exception {
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = connectedGuest(g);
        int u = g.domid();

        // Remove and re-add in one transaction: the drivers see the device again before any removal event.
        h.xs.transaction(tx -> {
            tx.rm(fe(u, 0));
            tx.rm(be(u, 0));
            return null;
        });
        h.libxlAdd(u, 0);

        awaitCount(guest.log(), HELLO, 2);
        h.awaitState(fe(u, 0), XenbusState.CONNECTED);
        h.awaitState(be(u, 0), XenbusState.CONNECTED);
        assertThat(guest.log().lines().stream().filter("Probe called. We are good to go."::equals)).hasSize(2);
        assertThat(h.libxlRemove(u, 0, SplitDriverHarness.WAIT_SECONDS)).isTrue();
        nothingLeaks(guest);
    }

    @Test
    void deviceReCreatedInOneTransactionIsNotStuck() throws Exception {
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = connectedGuest(g);
        int u = g.domid();

        h.xs.transaction(tx -> {
            tx.rm(fe(u, 0));
            tx.rm(be(u, 0));
            tx.mkdir(fe(u, 0));
            tx.setPerms(fe(u, 0), XsPerms.of(new XsPerm(u, false, false), new XsPerm(0, true, false)));
            tx.mkdir(be(u, 0));
            tx.setPerms(be(u, 0), XsPerms.of(new XsPerm(0, false, false), new XsPerm(u, true, false)));
            tx.write(fe(u, 0) + "/backend", be(u, 0));
            tx.write(fe(u, 0) + "/backend-id", "0");
            tx.write(be(u, 0) + "/frontend", fe(u, 0));
            tx.write(be(u, 0) + "/frontend-id", Integer.toString(u));
            tx.write(be(u, 0) + "/online", "1");
            tx.write(fe(u, 0) + "/state", "1");
            tx.write(be(u, 0) + "/state", "1");
            return null;
        });

        awaitCount(guest.log(), HELLO, 2);
        h.awaitState(fe(u, 0), XenbusState.CONNECTED);
        h.awaitState(be(u, 0), XenbusState.CONNECTED);
        awaitLine(guest.log(), "xenbus: " + fe(u, 0) + " was removed and re-created; probing it afresh");
        assertThat(h.libxlRemove(u, 0, SplitDriverHarness.WAIT_SECONDS)).isTrue();
        nothingLeaks(guest);
    }

    @Test
    void frontendJumpingStraightToClosedThenRestartingReconnects() throws Exception {
        Host.Guest g = h.guest("bare", false);
        int u = g.domid();
        h.libxlAdd(u, 0);
        h.awaitState(be(u, 0), XenbusState.INIT_WAIT);

        // The test is the frontend here: it skips everything and closes.
        h.xs.write(fe(u, 0) + "/state", "6");
        h.awaitState(be(u, 0), XenbusState.CLOSED);
        assertThat(h.dom0().xenbus().backend().states()).containsKey(be(u, 0)); // online=1: kept for a reconnect

        h.xs.write(fe(u, 0) + "/state", "1");
        h.awaitState(be(u, 0), XenbusState.INIT_WAIT);
        awaitLine(h.dom0().log(), be(u, 0) + ": prepare for reconnect");

        h.xs.write(fe(u, 0) + "/state", "6");
        h.awaitState(be(u, 0), XenbusState.CLOSED);
        assertThat(h.libxlRemove(u, 0, SplitDriverHarness.WAIT_SECONDS)).isTrue();
        awaitTrue("backend device gone", () -> h.dom0().xenbus().backend().devices().isEmpty());
    }

    @Test
    void aPeerWritingOurStateNodeIsReportedAndTheDeviceCloses() throws Exception {
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = connectedGuest(g);
        int u = g.domid();

        h.xs.write(fe(u, 0) + "/state", "2");

        h.awaitState(fe(u, 0), XenbusState.CLOSED);
        h.awaitState(be(u, 0), XenbusState.CLOSED);
        assertThat(h.xs.readString("/local/domain/" + u + "/error/device/mydevice/0/error"))
                .isEqualTo("22 state changed behind our back to InitWait");
        nothingLeaks(guest);
        hostKeepsWorking(u, guest, 1);
    }

    @Test
    void reconnectAfterClosedWithOnlineOne() throws Exception {
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = connectedGuest(g);
        int u = g.domid();

        guest.unload(MyDeviceFront.NAME);

        assertThat(guest.log().lines()).endsWith("Goodbye world.");
        assertThat(h.xs.readString(fe(u, 0) + "/state")).isEqualTo("6");
        h.awaitState(be(u, 0), XenbusState.CLOSED);
        nothingLeaks(guest);

        guest.load(new MyDeviceFront());

        awaitCount(guest.log(), HELLO, 2);
        h.awaitState(fe(u, 0), XenbusState.CONNECTED);
        h.awaitState(be(u, 0), XenbusState.CONNECTED);
        awaitLine(h.dom0().log(), be(u, 0) + ": prepare for reconnect");
    }

    @Test
    void aFrontendOverflowingTheRingIsClosedByTheBackend() throws Exception {
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = connectedGuest(g);
        int u = g.domid();
        // A malicious producer: req_prod (offset 0) of the ring the guest granted, far beyond what the ring can
        // hold, then a kick on the guest's channel. dom0 reaches the page through the grant, as any peer could.
        int ref = Integer.parseInt(h.xs.readString(fe(u, 0) + "/rx-ring-ref"));
        int port = Integer.parseInt(h.xs.readString(fe(u, 0) + "/event-channel"));
        var page = h.dom0().hypercalls().mapGrant(u, ref, false);
        page.page().set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                0, 1000);
        h.dom0().hypercalls().unmapGrant(page.handle());
        guest.hypercalls().send(port);

        h.awaitState(be(u, 0), XenbusState.CLOSED);
        h.awaitState(fe(u, 0), XenbusState.CLOSED);
        assertThat(h.xs.readString("/local/domain/0/error/backend/mydevice/" + u + "/0/error"))
                .startsWith("71 frontend overflowed the ring");
        nothingLeaks(guest);
        hostKeepsWorking(u, guest, 1);
    }

    @Test
    void backendWaitingForHotplugConnectsOnlyWhenTheScriptReports() throws Exception {
        h.dom0().unload(MyDeviceBack.NAME);
        h.dom0().load(new MyDeviceBack(org.jxen.xenbus.BackendDriver.Hotplug.DEFER_CONNECTED));
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = h.kernel(g.domid());
        int u = g.domid();
        h.libxlAdd(u, 0);

        h.awaitState(fe(u, 0), XenbusState.CONNECTED);
        awaitLine(h.dom0().log(), "xenbus " + be(u, 0) + ": Connected deferred until the hotplug script reports");
        assertThat(h.xs.readString(be(u, 0) + "/state")).isEqualTo("2");

        h.xs.write(be(u, 0) + "/hotplug-status", "connected");

        h.awaitState(be(u, 0), XenbusState.CONNECTED);
        awaitLine(guest.log(), HELLO);
    }
}
