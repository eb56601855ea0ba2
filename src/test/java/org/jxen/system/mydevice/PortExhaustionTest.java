package org.jxen.system.mydevice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.system.mydevice.SplitDriverHarness.awaitCount;
import static org.jxen.system.mydevice.SplitDriverHarness.awaitLine;
import static org.jxen.system.mydevice.SplitDriverHarness.be;
import static org.jxen.system.mydevice.SplitDriverHarness.fe;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jxen.drivers.mydevice.MyDeviceFront;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.EventWord;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.kernel.Kernel;
import org.jxen.toolstack.Host;
import org.jxen.xenbus.XenbusState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * dom0 on the FIFO ABI (131072 ports) with every port taken: the backend of the next device cannot bind its event
 * channel, and that one device fails with ENOSPC in its error node, where a toolstack looks; the guest's connected
 * device keeps working, and once a port is free again a new device connects.
 */
class PortExhaustionTest {
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

    @Test
    void aDom0OutOfPortsFailsTheOneDeviceWithEnospcAndTheOthersKeepWorking() throws Exception {
        Hypercalls dom0 = h.dom0().hypercalls();
        assertThat(dom0.maxChannels()).as("dom0 switched to FIFO at boot").isEqualTo(EventWord.NR_CHANNELS);
        Host.Guest g = h.guest("front", false, MyDeviceFront.NAME);
        int u = g.domid();
        Kernel guest = h.kernel(u);
        assertThat(guest.hypercalls().maxChannels()).as("and so did the guest").isEqualTo(EventWord.NR_CHANNELS);
        h.libxlAdd(u, 0);
        h.awaitState(be(u, 0), XenbusState.CONNECTED);
        awaitLine(guest.log(), HELLO);

        List<Integer> hoard = new ArrayList<>();
        try {
            while (true) hoard.add(dom0.allocUnbound(0));
        } catch (HypercallException e) {
            assertThat(e.errno()).isEqualTo(Errno.ENOSPC);
        }
        assertThat(hoard.getLast()).isEqualTo(EventWord.NR_CHANNELS - 1);

        h.libxlAdd(u, 1);
        h.awaitState(be(u, 1), XenbusState.CLOSING);
        assertThat(h.xs.readString("/local/domain/0/error/backend/mydevice/" + u + "/1/error"))
                .startsWith("28 ");

        // The device connected before is not affected: a reconnect of it is not needed, its channel still works.
        assertThat(h.xs.readString(be(u, 0) + "/state")).isEqualTo(Integer.toString(XenbusState.CONNECTED.value));

        dom0.closePort(hoard.removeLast());
        int hellos = (int) guest.log().lines().stream().filter(HELLO::equals).count();
        h.libxlAdd(u, 2);
        h.awaitState(fe(u, 2), XenbusState.CONNECTED);
        h.awaitState(be(u, 2), XenbusState.CONNECTED);
        awaitCount(guest.log(), HELLO, hellos + 1);
    }
}
