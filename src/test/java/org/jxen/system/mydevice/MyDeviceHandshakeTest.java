package org.jxen.system.mydevice;

import org.jxen.drivers.mydevice.MyDeviceFront;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.system.mydevice.SplitDriverHarness.be;
import static org.jxen.system.mydevice.SplitDriverHarness.fe;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jxen.hypervisor.ChannelState;
import org.jxen.toolstack.DeviceSpec;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.kernel.CommandLine;
import org.jxen.kernel.Kernel;
import org.jxen.xenbus.Xenbus;
import org.jxen.xenbus.XenbusState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The seed's mydevice pair on a real host: both ways of adding the device, closedown, and a killed guest. */
@Timeout(180)
class MyDeviceHandshakeTest {
    /** What the frontend prints when the backend's answer arrives (the seed's chapter 4). */
    static final String HELLO_LINE = "Backend says: Hello world";
    static final List<String> BACK_LINES = List.of("Hello World!", "Probe called. We are good to go.",
            "Connecting the backend now.");
    static final List<String> FRONT_LINES = List.of("Hello World!", "Probe called. We are good to go.",
            "Connecting the frontend now.", "Other side says it is connected as well.");

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

    @Test
    void libxlStyleAddConnectsBothEndsAndRemoveClosesInOrder() throws Exception {
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = h.kernel(g.domid());

        h.libxlAdd(g.domid(), 0);

        connected(g.domid(), guest);
        closeDownInOrder(g.domid(), guest);
    }

    @Test
    void activateShOrderConnectsBothEnds() throws Exception {
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = h.kernel(g.domid());

        h.activateSh(g.domid(), 0);

        connected(g.domid(), guest);
        closeDownInOrder(g.domid(), guest);
    }

    @Test
    void guestInItsOwnProcessConnectsAndItsDeathIsCleanedUpByTheBackend() throws Exception {
        Host.Guest g = h.guest("front", true, MyDeviceFront.NAME);
        h.awaitDmesg(g.domid(), "Hello World!");

        h.libxlAdd(g.domid(), 0);

        h.awaitState(fe(g.domid(), 0), XenbusState.CONNECTED);
        h.awaitState(be(g.domid(), 0), XenbusState.CONNECTED);
        for (String line : FRONT_LINES) h.awaitDmesg(g.domid(), line);
        h.awaitDmesg(g.domid(), HELLO_LINE);

        g.process().destroyForcibly().waitFor();

        // The frontend's directory goes with its domain (and the toolstack removes the backend's): the backend
        // sees Unknown or its own removal, disconnects and unregisters.
        SplitDriverHarness.awaitTrue("backend device unregistered",
                () -> h.dom0().xenbus().backend().devices().isEmpty());
        assertThat(h.readOrNull(be(g.domid(), 0) + "/state")).isIn(null, "6");
        // The driver's remove (unmap, unbind) finishes on the bus worker just after the device leaves the list.
        SplitDriverHarness.awaitTrue("dom0 released the ring and the port",
                () -> h.dom0().xenbusResources().snapshot().isEmpty());
        assertThat(h.dom0().xenbusResources().snapshot().isEmpty()).as("dom0 resources %s",
                h.dom0().xenbusResources().snapshot()).isTrue();
    }

    /** Both ends Connected, the seed's exact log lines in both domains, the ring message delivered. */
    private void connected(int domid, Kernel guest) throws Exception {
        h.awaitState(fe(domid, 0), XenbusState.CONNECTED);
        h.awaitState(be(domid, 0), XenbusState.CONNECTED);
        SplitDriverHarness.awaitLine(guest.log(), "Other side says it is connected as well.");
        SplitDriverHarness.awaitLine(h.dom0().log(), "Connecting the backend now.");
        assertThat(SplitDriverHarness.linesAmong(h.dom0().log(), BACK_LINES)).containsExactlyElementsOf(BACK_LINES);
        assertThat(SplitDriverHarness.linesAmong(guest.log(), FRONT_LINES)).containsExactlyElementsOf(FRONT_LINES);
        SplitDriverHarness.awaitLine(guest.log(), HELLO_LINE);
    }

    /** libxl's remove: backend Closing -> frontend Closed -> backend Closed; then nothing is left behind. */
    private void closeDownInOrder(int domid, Kernel guest) throws Exception {
        int ref = Integer.parseInt(h.xs.readString(fe(domid, 0) + "/rx-ring-ref"));
        int port = Integer.parseInt(h.xs.readString(fe(domid, 0) + "/event-channel"));
        assertThat(h.xs.readString(fe(domid, 0) + "/state")).isEqualTo("4");
        assertThat(guest.hypercalls().status(port).state()).isEqualTo(ChannelState.INTERDOMAIN);
        List<String> frontendWhenBackendClosed = new CopyOnWriteArrayList<>();
        h.xs.watch(be(domid, 0) + "/state", "order", (p, t) -> {
            try {
                if ("6".equals(h.readOrNull(p))) frontendWhenBackendClosed.add(h.readOrNull(fe(domid, 0) + "/state"));
            } catch (java.io.IOException e) {
                frontendWhenBackendClosed.add(e.toString());
            }
        });

        assertThat(h.libxlClose(domid, 0, SplitDriverHarness.WAIT_SECONDS)).as("backend reached Closed").isTrue();
        // The watch fires on the client's event thread; the nodes must outlive its read of them.
        SplitDriverHarness.awaitTrue("the order watch saw the backend Closed",
                () -> !frontendWhenBackendClosed.isEmpty());
        h.xs.unwatch(be(domid, 0) + "/state", "order");
        h.libxlRemoveNodes(domid, 0);

        assertThat(frontendWhenBackendClosed).containsOnly("6");
        SplitDriverHarness.awaitTrue("devices unregistered", () -> h.dom0().xenbus().backend().devices().isEmpty()
                && guest.xenbus().frontend().devices().isEmpty());
        SplitDriverHarness.awaitTrue("resources released", () -> h.dom0().xenbusResources().snapshot().isEmpty()
                && guest.xenbusResources().snapshot().isEmpty());
        // What the hypervisor says: the grant entry is free (no mapping pins it) and the port is closed.
        assertThat(guest.hypercalls().grantTable().flagsAndDomid(ref)).isZero();
        assertThat(guest.hypercalls().status(port).state()).isEqualTo(ChannelState.CLOSED);
    }

    @Test
    void guestShutdownClosesItsFrontendFirst() throws Exception {
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = h.kernel(g.domid());
        h.libxlAdd(g.domid(), 0);
        connected(g.domid(), guest);

        h.host.libxl().requestShutdown(g.domid(), "poweroff");

        // The kernel unloads its modules: Connected -> Closing, the backend closes, the frontend answers Closed.
        SplitDriverHarness.awaitLine(guest.log(), "Goodbye world.");
        assertThat(guest.log().lines()).doesNotContain("xenbus: " + fe(g.domid(), 0) + " timeout closing device");
        SplitDriverHarness.awaitTrue("backend device gone with its domain",
                () -> h.dom0().xenbus().backend().devices().isEmpty());
        assertThat(h.dom0().xenbusResources().snapshot().isEmpty()).isTrue();
    }

    @Test
    void theToolstacksDeviceManagerAttachesAndDetaches() throws Exception {
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        Kernel guest = h.kernel(g.domid());
        DeviceSpec spec = new DeviceSpec("mydevice", 0, 0);

        h.host.libxl().addDevice(g.domid(), spec);
        connected(g.domid(), guest);
        h.host.libxl().removeDevice(g.domid(), spec);

        assertThat(h.readOrNull(fe(g.domid(), 0))).isNull();
        assertThat(h.readOrNull(be(g.domid(), 0))).isNull();
        SplitDriverHarness.awaitTrue("devices gone and resources released",
                () -> h.dom0().xenbus().backend().devices().isEmpty() && guest.xenbus().frontend().devices().isEmpty()
                        && h.dom0().xenbusResources().snapshot().isEmpty()
                        && guest.xenbusResources().snapshot().isEmpty());
        assertThat(h.dom0().log().lines()).noneMatch(l -> l.contains("forced"));
    }

    @Test
    void theKernelXlBootsConnectsTheDevice() throws Exception {
        Host.Guest g = h.host.create(new GuestConfig("modular", 16, 1, GuestConfig.MODULAR_KERNEL,
                List.of(CommandLine.MODULES_LOAD + MyDeviceFront.NAME), false));

        h.libxlAdd(g.domid(), 0);

        h.awaitState(fe(g.domid(), 0), XenbusState.CONNECTED);
        h.awaitState(be(g.domid(), 0), XenbusState.CONNECTED);
        SplitDriverHarness.awaitLine(h.dom0().log(), "Connecting the backend now.");
    }
}
