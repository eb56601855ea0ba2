package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainState;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstored.XenStoredServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Libxl} alone against a real xenstored (no hypervisor: INTRODUCE of a domain only records it): the exact
 * nodes, values and permissions of a domain build and a device add, what the guest may and may not touch, and
 * that remove and destroy leave nothing behind.
 */
@Timeout(60)
class LibxlTest {
    private static final int U = 7;
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private XenStoredServer xenstored;
    private XsClient xs;
    private Libxl libxl;
    private final List<String> warnings = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        xenstored = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
        xs = new XsClient(xenstored.connectInProcess(0));
        libxl = new Libxl(xs, Map.of(), Map.of(), new Libxl.Timeouts(WAIT, WAIT, WAIT), warnings::add);
        libxl.writeHostNodes();
    }

    @AfterEach
    void stop() throws Exception {
        xs.close();
        xenstored.close();
    }

    private void build(int domid, String name) throws Exception {
        libxl.buildDomain(domid, GuestConfig.of(name, false), new DomainInfo(domid, DomainState.PAUSED, null,
                16 * 256, 1, java.util.BitSet.valueOf(new long[] {1}), false, 5, 6, false));
    }

    @Test
    void aDomainBuildWritesExactlyLibxlsNodesAndIntroducesTheDomain() throws Exception {
        build(U, "g");
        String vm = "/vm/" + UUID.nameUUIDFromBytes(("g/" + U).getBytes(StandardCharsets.UTF_8));
        String dom0 = "n0 r" + U;
        String guest = "n" + U;
        Map<String, String> expected = new TreeMap<>();
        for (String[] n : new String[][] {
            {"", "", dom0}, {"/vm", vm, dom0}, {"/name", "g", dom0}, {"/domid", "7", dom0},
            {"/memory", "", dom0}, {"/memory/static-max", "16384", dom0}, {"/memory/target", "16384", dom0},
            {"/cpu", "", dom0}, {"/cpu/0", "", dom0}, {"/cpu/0/availability", "online", dom0},
            {"/store", "", dom0}, {"/store/port", "5", dom0}, {"/store/ring-ref", "1", dom0},
            {"/console", "", dom0}, {"/console/port", "6", dom0}, {"/console/ring-ref", "0", dom0},
            {"/control", "", dom0}, {"/control/shutdown", "", guest}, {"/control/feature-poweroff", "", guest},
            {"/control/feature-reboot", "", guest}, {"/control/feature-suspend", "", guest},
            {"/control/sysrq", "", guest}, {"/control/platform-feature-multiprocessor-suspend", "1", dom0},
            {"/control/platform-feature-xs_reset_watches", "1", dom0},
            {"/device", "", guest}, {"/device/suspend", "", guest}, {"/device/suspend/event-channel", "", guest},
            {"/data", "", guest}, {"/drivers", "", guest}, {"/feature", "", guest}, {"/attr", "", guest},
            {"/error", "", guest},
        }) {
            expected.put(Libxl.home(U) + n[0], n[1] + " " + n[2]);
        }
        assertThat(tree(Libxl.home(U))).isEqualTo(expected);
        Map<String, String> vmTree = new TreeMap<>(tree(vm));
        // libxl's start time (xl uptime): seconds and hundredths since the epoch, dom0's.
        assertThat(vmTree.remove(vm + "/start_time")).matches("[0-9]+\\.[0-9]{2} " + dom0);
        assertThat(vmTree).isEqualTo(Map.of(vm, " " + dom0, vm + "/uuid", vm.substring(4) + " " + dom0,
                vm + "/name", "g " + dom0));
        assertThat(xs.isDomainIntroduced(U)).isTrue();
        assertThat(libxl.domainName(U)).isEqualTo("g");
        assertThat(libxl.domainName(U + 1)).isNull();
    }

    @Test
    void theGuestMayAnswerControlButNotChangeWhatDom0Wrote() throws Exception {
        build(U, "g");
        try (XsClient guest = new XsClient(xenstored.connectInProcess(U))) {
            guest.write(Libxl.home(U) + "/control/feature-poweroff", "1");
            assertThat(errno(() -> guest.write(Libxl.home(U) + "/name", "evil"))).isEqualTo(XsError.EACCES);
            assertThat(errno(() -> guest.write(Libxl.home(U) + "/memory/target", "1"))).isEqualTo(XsError.EACCES);
            assertThat(guest.readString(Libxl.home(U) + "/name")).isEqualTo("g");
            assertThat(errno(() -> guest.read(Libxl.home(0) + "/name"))).isEqualTo(XsError.EACCES);
        }
        libxl.requestShutdown(U, "poweroff");
        assertThat(xs.read(Libxl.home(U) + "/control/shutdown")).containsExactly("poweroff".getBytes(StandardCharsets.US_ASCII));
        assertThat(xs.getPerms(Libxl.home(U) + "/control/shutdown")).hasToString("n" + U);
    }

    @Test
    void aDeviceAddWritesExactlyBothDirectoriesWithTheClassNodes() throws Exception {
        build(U, "g");
        DeviceSpec d = new DeviceSpec("testdev", 3, 0, Map.of("params", "/img", "mode", "w"),
                Map.of("virtual-device", "3"));
        try (TestBackend b = new TestBackend(xs, "testdev", true)) {
            libxl.addDevice(U, d);
        }
        String fe = Libxl.home(U) + "/device/testdev/3";
        String be = Libxl.home(0) + "/backend/testdev/" + U + "/3";
        assertThat(DevicePaths.of(U, d)).isEqualTo(new DevicePaths(fe, be));
        String guestsReadByDom0 = "n" + U + " r0";
        String dom0sReadByGuest = "n0 r" + U;
        assertThat(tree(fe)).isEqualTo(Map.of(
                fe, " " + guestsReadByDom0,
                fe + "/backend", be + " " + guestsReadByDom0,
                fe + "/backend-id", "0 " + guestsReadByDom0,
                fe + "/state", "1 " + guestsReadByDom0,
                fe + "/virtual-device", "3 " + guestsReadByDom0));
        assertThat(tree(be)).isEqualTo(Map.of(
                be, " " + dom0sReadByGuest,
                be + "/frontend", fe + " " + dom0sReadByGuest,
                be + "/frontend-id", U + " " + dom0sReadByGuest,
                be + "/online", "1 " + dom0sReadByGuest,
                be + "/state", "2 " + dom0sReadByGuest,
                be + "/params", "/img " + dom0sReadByGuest,
                be + "/mode", "w " + dom0sReadByGuest));
        try (XsClient guest = new XsClient(xenstored.connectInProcess(U))) {
            guest.write(fe + "/state", "3");
            assertThat(guest.readString(be + "/state")).isEqualTo("2");
            assertThat(errno(() -> guest.write(be + "/state", "6"))).isEqualTo(XsError.EACCES);
            assertThat(errno(() -> guest.rm(be))).isEqualTo(XsError.EACCES);
        }
        try (XsClient other = new XsClient(xenstored.connectInProcess(U + 1))) {
            assertThat(errno(() -> other.read(fe + "/state"))).isEqualTo(XsError.EACCES);
            assertThat(errno(() -> other.read(be + "/state"))).isEqualTo(XsError.EACCES);
        }
    }

    @Test
    void aRemoveLeavesNothingOfTheDeviceAndKeepsItsNeighbours() throws Exception {
        build(U, "g");
        DeviceSpec first = new DeviceSpec("testdev", 0, 0);
        DeviceSpec second = new DeviceSpec("testdev", 1, 0);
        String parent = DevicePaths.of(U, first).backendParent();
        try (TestBackend b = new TestBackend(xs, "testdev", true)) {
            libxl.addDevice(U, first);
            libxl.addDevice(U, second);
            libxl.removeDevice(U, first);
            assertThat(xs.directory(parent)).containsExactly("1");
            assertThat(xs.directory(Libxl.home(U) + "/device/testdev")).containsExactly("1");
            libxl.removeDevice(U, second);
        }
        assertThat(xs.exists(parent)).isFalse();
        assertThat(xs.directory(Libxl.home(0) + "/backend/testdev")).isEmpty();
        assertThat(xs.directory(Libxl.home(U) + "/device/testdev")).isEmpty();
        assertThat(warnings).isEmpty();
        assertThat(libxl.device(U, "testdev", 0)).isNull();
        assertThatThrownBy(() -> libxl.removeDevice(U, first)).isInstanceOf(DeviceException.class)
                .hasMessage("no testdev 0 of domain " + U);
    }

    @Test
    void destroyRemovesTheHomeTheVmPathAndTheBackendDirectories() throws Exception {
        build(U, "g");
        build(U + 1, "h");
        try (TestBackend b = new TestBackend(xs, "testdev", true)) {
            libxl.addDevice(U, new DeviceSpec("testdev", 0, 0));
            libxl.addDevice(U + 1, new DeviceSpec("testdev", 0, 0));
        }
        String vm = xs.readString(Libxl.home(U) + "/vm");

        libxl.destroyDomainNodes(U);

        assertThat(xs.exists(Libxl.home(U))).isFalse();
        assertThat(xs.exists(vm)).isFalse();
        assertThat(xs.directory(Libxl.home(0) + "/backend/testdev")).containsExactly(Integer.toString(U + 1));
        assertThat(xs.directory("/vm")).containsExactly(xs.readString(Libxl.home(U + 1) + "/vm").substring(4));
        assertThat(xs.directory("/local/domain")).containsExactlyInAnyOrder("0", Integer.toString(U + 1));
    }

    @Test
    void listingReadsTheFrontendDirectoriesInIdOrder() throws Exception {
        build(U, "g");
        try (TestBackend b = new TestBackend(xs, "testdev", true)) {
            libxl.addDevice(U, new DeviceSpec("testdev", 10, 0));
            libxl.addDevice(U, new DeviceSpec("testdev", 2, 0));
        }
        String fe = Libxl.home(U) + "/device/testdev/";
        try (XsClient guest = new XsClient(xenstored.connectInProcess(U))) {
            guest.write(fe + "2/event-channel", "9");
            guest.write(fe + "2/ring-ref", "8");
            guest.write(fe + "10/queue-0/event-channel", "12");
            guest.write(fe + "10/queue-0/ring-ref0", "13");
            guest.write(fe + "10/state", "4");
            guest.write(fe + "notanid", "");
        }
        String be = Libxl.home(0) + "/backend/testdev/" + U + "/";
        assertThat(libxl.listDevices(U, "testdev")).containsExactly(
                new DeviceInfo(2, 0, U, 1, 9, 8, be + "2"),
                new DeviceInfo(10, 0, U, 4, 12, 13, be + "10"));
        assertThat(libxl.listDevices(U, "nosuchclass")).isEmpty();
        assertThat(libxl.nextDeviceId(U, "testdev")).isEqualTo(11);
        assertThat(libxl.nextDeviceId(U, "nosuchclass")).isZero();
        assertThat(libxl.device(U, "testdev", 2)).isEqualTo(new DeviceSpec("testdev", 2, 0));
        assertThat(libxl.device(U, "testdev", 3)).isNull();
    }

    @Test
    void domainsAreFoundByIdOrNameAsXlFindsThem() throws Exception {
        build(U, "g");
        assertThat(libxl.domid("7")).isEqualTo(U);
        assertThat(libxl.domid("g")).isEqualTo(U);
        assertThat(libxl.domid("0")).isZero();
        assertThat(libxl.domid("Domain-0")).isZero();
        for (String bad : List.of("07", "8", "nosuch", "99999999999")) {
            assertThatThrownBy(() -> libxl.domid(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(bad + " is an invalid domain identifier" + (bad.equals("nosuch") ? " (rc=-6)" : ""));
        }
    }

    /** Every node at and below {@code path}: its value, a space, and its permissions. */
    private Map<String, String> tree(String path) throws Exception {
        Map<String, String> out = new TreeMap<>();
        collect(path, out);
        return out;
    }

    private void collect(String path, Map<String, String> out) throws Exception {
        out.put(path, xs.readString(path) + " " + xs.getPerms(path));
        for (String child : xs.directory(path)) collect(path + "/" + child, out);
    }

    private interface XsCall {
        void run() throws Exception;
    }

    private static XsError errno(XsCall call) {
        try {
            call.run();
        } catch (XenStoreException e) {
            return e.error();
        } catch (Exception e) {
            throw new AssertionError("expected a xenstored error, got " + e, e);
        }
        throw new AssertionError("expected a xenstored error, the call succeeded");
    }
}
