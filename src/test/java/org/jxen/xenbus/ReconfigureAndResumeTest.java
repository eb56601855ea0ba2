package org.jxen.xenbus;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reconfiguring and Reconfigured through the framework, between a guest's xenbus and dom0's, with a test driver
 * pair shaped like pcifront/pciback: the toolstack adds and removes "slots" of a Connected device (libxl's PCI
 * hot-plug: new {@code dev-N}/{@code state-N} keys and the backend's state 7 in one transaction), the frontend
 * lets go and says Reconfiguring, the backend exports ({@code vdev-N}, {@code state-N} 3) and says Reconfigured,
 * the frontend takes them up and both are Connected again, the connection never down. And a frontend-initiated
 * change (netfront's XDP headroom), and a backend that does not reconfigure refusing it. Then the bus's suspend:
 * cancelled (connections kept, held events run after) and resumed as a new domain (the new backend read, the
 * device connected again).
 */
@Timeout(60)
class ReconfigureAndResumeTest {
    private static final AtomicInteger TOKENS = new AtomicInteger();

    @TempDir
    Path dir;
    private Dom0Xenbus dom0;
    private Xenbus guest;
    private XsClient xs;
    private SlotBack back;
    private SlotFront front;
    private String fe;
    private String be;

    /** pciback-like: exports slots the toolstack marked Initialising (1), drops those marked Closing (5). */
    static final class SlotBack extends BackendDriver<List<String>> {
        final boolean reconfigurable;
        final AtomicInteger connects = new AtomicInteger();
        final AtomicInteger disconnects = new AtomicInteger();
        volatile String headroom;

        SlotBack(boolean reconfigurable) {
            super("slots", ConnectOn.FRONTEND_CONNECTED, Hotplug.NONE);
            this.reconfigurable = reconfigurable;
        }

        @Override
        protected List<String> create(XenbusDevice dev) {
            return new CopyOnWriteArrayList<>();
        }

        @Override
        protected void connect(XenbusDevice dev, List<String> data) {
            connects.incrementAndGet();
        }

        @Override
        protected void disconnect(XenbusDevice dev, List<String> data) {
            disconnects.incrementAndGet();
        }

        @Override
        protected boolean reconfigurable() {
            return reconfigurable;
        }

        @Override
        protected void reconfigure(XenbusDevice dev, List<String> exported) throws IOException {
            headroom = dev.xenbus().xenstore().readOrNull(dev.otherendPath() + "/xdp-headroom");
            String n = dev.readOrNull("num_devs");
            int count = n == null ? 0 : Integer.parseInt(n);
            for (int i = 0; i < count; i++) {
                String state = dev.readOrNull("state-" + i);
                String name = dev.readOrNull("dev-" + i);
                if ("1".equals(state)) {
                    exported.add(name);
                    dev.write("vdev-" + i, "slot:" + name);
                    dev.write("state-" + i, "3");
                } else if ("5".equals(state)) {
                    exported.remove(name);
                    dev.write("state-" + i, "6");
                }
            }
        }
    }

    /** pcifront-like: the slots it has attached; detaches Closing ones first, attaches exported ones after. */
    static final class SlotFront extends FrontendDriver<List<String>> {
        final AtomicInteger connects = new AtomicInteger();
        final AtomicInteger disconnects = new AtomicInteger();
        final AtomicInteger suspends = new AtomicInteger();
        final List<String> steps = new CopyOnWriteArrayList<>();

        SlotFront() {
            super("slots", XenbusState.CONNECTED);
        }

        @Override
        protected List<String> create(XenbusDevice dev) {
            return new CopyOnWriteArrayList<>();
        }

        @Override
        protected void connect(XenbusDevice dev, List<String> data) {
            connects.incrementAndGet();
        }

        @Override
        protected void disconnect(XenbusDevice dev, List<String> data) {
            disconnects.incrementAndGet();
        }

        @Override
        protected void suspend(XenbusDevice dev, List<String> data) {
            suspends.incrementAndGet();
        }

        @Override
        protected void reconfiguring(XenbusDevice dev, List<String> attached) throws IOException {
            steps.add("detach");
            for (int i = 0; i < count(dev); i++) {
                if ("5".equals(backend(dev, "state-" + i))) attached.remove("slot:" + backend(dev, "dev-" + i));
            }
        }

        @Override
        protected void reconfigured(XenbusDevice dev, List<String> attached) throws IOException {
            steps.add("attach");
            for (int i = 0; i < count(dev); i++) {
                String vdev = backend(dev, "vdev-" + i);
                if ("3".equals(backend(dev, "state-" + i)) && !attached.contains(vdev)) attached.add(vdev);
            }
        }

        private static int count(XenbusDevice dev) throws IOException {
            String n = backend(dev, "num_devs");
            return n == null ? 0 : Integer.parseInt(n);
        }

        private static String backend(XenbusDevice dev, String key) throws IOException {
            return dev.xenbus().xenstore().readOrNull(dev.otherendPath() + "/" + key);
        }
    }

    @BeforeEach
    void start() throws Exception {
        dom0 = new Dom0Xenbus(dir);
        xs = dom0.xs;
        guest = dom0.guest(16);
    }

    @AfterEach
    void stop() throws Exception {
        dom0.close();
    }

    private void connectDevice(boolean reconfigurable) throws Exception {
        back = new SlotBack(reconfigurable);
        front = new SlotFront();
        dom0.xenbus.backend().register(back);
        guest.frontend().register(front);
        int g = guest.domid();
        fe = "/local/domain/" + g + "/device/slots/0";
        be = "/local/domain/0/backend/slots/" + g + "/0";
        // As libxl: both directories made and given their permissions first, so every key written into them
        // inherits those (the frontend's is the guest's, the backend's readable by it).
        xs.transaction(tx -> {
            tx.mkdir(fe);
            tx.setPerms(fe, XsPerms.parse(List.of("n" + g, "r0")));
            tx.mkdir(be);
            tx.setPerms(be, XsPerms.parse(List.of("n0", "r" + g)));
            tx.write(fe + "/backend", be);
            tx.write(fe + "/backend-id", "0");
            tx.write(fe + "/state", "1");
            tx.write(be + "/frontend", fe);
            tx.write(be + "/frontend-id", Integer.toString(g));
            tx.write(be + "/online", "1");
            tx.write(be + "/state", "1");
            tx.write(be + "/num_devs", "0");
            return null;
        });
        awaitState(fe, XenbusState.CONNECTED);
        awaitState(be, XenbusState.CONNECTED);
    }

    @Test
    void toolstackAddsAndRemovesSlotsWhileTheDeviceStaysConnected() throws Exception {
        connectDevice(true);
        List<String> attached = front.data(frontDevice());

        // libxl_device_pci_add: the new device's keys and the backend's Reconfiguring in one transaction.
        xs.transaction(tx -> {
            tx.write(be + "/dev-0", "0000:00:02.0");
            tx.write(be + "/state-0", "1");
            tx.write(be + "/dev-1", "0000:00:03.0");
            tx.write(be + "/state-1", "1");
            tx.write(be + "/num_devs", "2");
            tx.write(be + "/state", "7");
            return null;
        });
        awaitValue(be + "/state-1", "3"::equals);
        awaitState(be, XenbusState.CONNECTED);
        awaitState(fe, XenbusState.CONNECTED);
        assertThat(xs.readString(be + "/vdev-0")).isEqualTo("slot:0000:00:02.0");
        assertThat(xs.readString(be + "/state-0")).isEqualTo("3");
        assertThat(attached).containsExactly("slot:0000:00:02.0", "slot:0000:00:03.0");

        // Hot-remove: state-N = 5 and the backend's Reconfiguring, then the backend reports 6 for it.
        xs.transaction(tx -> {
            tx.write(be + "/state-0", "5");
            tx.write(be + "/state", "7");
            return null;
        });
        awaitValue(be + "/state-0", "6"::equals);
        awaitState(be, XenbusState.CONNECTED);
        awaitState(fe, XenbusState.CONNECTED);
        assertThat(attached).containsExactly("slot:0000:00:03.0");
        assertThat(front.steps).containsExactly("detach", "attach", "detach", "attach");
        assertThat(back.connects).as("the connection was never taken down").hasValue(1);
        assertThat(back.disconnects).hasValue(0);
        assertThat(front.connects).hasValue(1);
        assertThat(xs.exists(be + "/error")).isFalse();
    }

    @Test
    void aFrontendInitiatedChangeIsAppliedByTheBackendAndBothEndConnected() throws Exception {
        connectDevice(true);
        XenbusDevice dev = frontDevice();
        LinkedBlockingQueue<String> frontStates = recordStates(fe);
        LinkedBlockingQueue<String> backStates = recordStates(be);

        // netfront's xennet_xdp_set: write what it wants, then Reconfiguring; run on the bus like a driver would.
        LinkedBlockingQueue<Boolean> asked = new LinkedBlockingQueue<>();
        dev.runOnBus(() -> {
            try {
                dev.write("xdp-headroom", "256");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            asked.add(front.requestReconfiguration(dev));
        });
        assertThat(asked.poll(30, TimeUnit.SECONDS)).isTrue();
        awaitValue(fe + "/state", "4"::equals, frontStates, "7");
        awaitValue(be + "/state", "4"::equals, backStates, "8");
        assertThat(back.headroom).isEqualTo("256");
        assertThat(front.steps).containsExactly("attach");
        assertThat(back.connects).hasValue(1);
        assertThat(back.disconnects).hasValue(0);
    }

    @Test
    void aBackendThatDoesNotReconfigureReportsTheStateAsAnError() throws Exception {
        connectDevice(false);
        // The frontend asks (a write of its state node by anyone else would be a hijack it reports itself).
        XenbusDevice dev = frontDevice();
        LinkedBlockingQueue<Boolean> asked = new LinkedBlockingQueue<>();
        dev.runOnBus(() -> asked.add(front.requestReconfiguration(dev)));
        assertThat(asked.poll(30, TimeUnit.SECONDS)).isTrue();
        // xenbus_dev_fatal: the error under dom0's error/ tree, then the backend closes.
        String error = "/local/domain/0/error/backend/slots/" + guest.domid() + "/0/error";
        awaitValue(error, v -> !v.isEmpty());
        assertThat(xs.readString(error)).isEqualTo("22 saw state 7 at frontend");
        awaitState(be, XenbusState.CLOSED);
    }

    @Test
    void aReconfigurationRequestedWhileNotConnectedIsRefused() throws Exception {
        connectDevice(true);
        XenbusDevice dev = frontDevice();
        xs.write(be + "/state", "5"); // the backend is closing: the frontend follows to Closed
        awaitState(fe, XenbusState.CLOSED);
        assertThat(front.requestReconfiguration(dev)).isFalse();
        assertThat(xs.readString(fe + "/state")).isEqualTo("6");
    }

    private XenbusDevice frontDevice() {
        XenbusDevice dev = guest.frontend().device(fe);
        assertThat(dev).as("frontend device %s", fe).isNotNull();
        return dev;
    }

    /** Every value {@code path} takes from now on, in order (the watch's first event gives the current one). */
    private LinkedBlockingQueue<String> recordStates(String devdir) throws Exception {
        LinkedBlockingQueue<String> values = new LinkedBlockingQueue<>();
        String path = devdir + "/state";
        xs.watch(path, "rec" + TOKENS.incrementAndGet(), (p, t) -> {
            try {
                String v = xs.readOrNull(path);
                if (v != null) values.add(v);
            } catch (IOException e) {
                values.add("?" + e);
            }
        });
        return values;
    }

    /** Waits for {@code path} to satisfy {@code done}, having seen {@code via} among the recorded values. */
    private void awaitValue(String path, Predicate<String> done, LinkedBlockingQueue<String> seen, String via)
            throws Exception {
        boolean sawVia = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            String v = seen.poll(1, TimeUnit.SECONDS);
            if (v == null) continue;
            if (v.equals(via)) sawVia = true;
            if (sawVia && done.test(v)) return;
        }
        assertThat(sawVia).as("%s went through %s", path, via).isTrue();
        assertThat(xs.readString(path)).as(path).matches(done);
    }

    private void awaitValue(String path, Predicate<String> ok) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        String token = "t" + TOKENS.incrementAndGet();
        xs.watch(path, token, (p, t) -> q.add(p));
        try {
            while (true) {
                String v = xs.readOrNull(path);
                if (v != null && ok.test(v)) return;
                assertThat(q.poll(30, TimeUnit.SECONDS)).as("waiting for %s; %s", path, where()).isNotNull();
            }
        } finally {
            xs.unwatch(path, token);
        }
    }

    /** Both ends' states, for a failure message. */
    private String where() throws IOException {
        StringBuilder b = new StringBuilder();
        for (String d : new String[] {fe, be}) {
            b.append(d).append("/state=").append(xs.readOrNull(d + "/state")).append(' ');
        }
        return b.toString();
    }

    private void awaitState(String devdir, XenbusState s) throws Exception {
        awaitValue(devdir + "/state", v -> XenbusState.parse(v) == s);
    }

    @Test
    void aCancelledSuspendKeepsTheConnectionAndHeldEventsRunAfter() throws Exception {
        connectDevice(true);
        guest.frontend().suspend();
        assertThat(front.suspends).hasValue(1);
        // While frozen, a backend change waits; the cancel lets it through (here: the backend closes).
        xs.write(be + "/state", "5");
        assertThat(xs.readString(fe + "/state")).as("frozen: nothing reacted yet").isEqualTo("4");
        guest.frontend().suspendCancelled();
        awaitState(fe, XenbusState.CLOSED);
        assertThat(front.connects).hasValue(1);
    }

    @Test
    void aResumeInANewDomainReadsTheNewBackendAndReconnects() throws Exception {
        connectDevice(true);
        guest.frontend().suspend();
        int g = guest.domid();
        // What libxl does for a migrated guest: the source's backend is gone, the target's devices are created as
        // at boot (frontend Initialising, backend pointing at the new backend).
        String be1 = "/local/domain/0/backend/slots/" + g + "/5";
        xs.rm(be);
        xs.transaction(tx -> {
            tx.mkdir(be1);
            tx.setPerms(be1, XsPerms.parse(List.of("n0", "r" + g)));
            tx.write(fe + "/backend", be1);
            tx.write(fe + "/state", "1");
            tx.write(be1 + "/frontend", fe);
            tx.write(be1 + "/frontend-id", Integer.toString(g));
            tx.write(be1 + "/online", "1");
            tx.write(be1 + "/state", "1");
            return null;
        });
        guest.frontend().resume();
        be = be1;
        awaitState(be1, XenbusState.CONNECTED);
        awaitState(fe, XenbusState.CONNECTED);
        XenbusDevice dev = frontDevice();
        assertThat(dev.otherendPath()).isEqualTo(be1);
        assertThat(front.connects).as("set up again for the new backend").hasValue(2);
        assertThat(front.disconnects).as("the old connection taken down by the resume").hasValue(1);
        assertThat(xs.exists("/local/domain/" + g + "/error")).isFalse();
    }
}
