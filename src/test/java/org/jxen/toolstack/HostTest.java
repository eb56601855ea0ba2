package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.process.ExitKernel;
import org.jxen.hypervisor.HypercallException;
import org.jxen.kernel.LogAwait;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A whole host: hypervisor, dom0, xenstored, guests over their real shared rings, in-process and as processes. */
@Timeout(120)
class HostTest {
    @TempDir
    Path dir;
    private Host host;
    private XsClient xs;

    @BeforeEach
    void start() throws Exception {
        host = Host.start(dir, false);
        xs = host.xenstore();
    }

    @AfterEach
    void stop() {
        host.close();
    }

    @Test
    void bootLayoutIsWhatAXenHostHolds() throws Exception {
        assertThat(xs.readString("/local/domain/0/name")).isEqualTo("Domain-0");
        assertThat(xs.readString("/local/domain/0/domid")).isEqualTo("0");
        assertThat(xs.exists("/tool")).isTrue();
        assertThat(xs.exists("/vm")).isTrue();
        assertThat(Files.exists(dir.resolve("xenstored/socket"))).isTrue();
    }

    @ParameterizedTest(name = "own process: {0}")
    @ValueSource(booleans = {false, true})
    void guestTalksToXenStoreOverItsRingWithItsOwnIdentity(boolean ownProcess) throws Exception {
        Host.Guest other = host.create(GuestConfig.of("other", false));
        Host.Guest g = host.create(new GuestConfig("probe", 16, 1, ProbeKernel.class.getName(),
                List.of(Integer.toString(other.domid())), ownProcess));
        String home = "/local/domain/" + g.domid();
        xs.setQuota(Integer.toString(g.domid()), "nodes", "30");
        awaitNode(home + "/data/probe-done");

        assertThat(xs.readString(home + "/name")).isEqualTo("probe");
        assertThat(result(home, "own-name")).isEqualTo("probe");
        assertThat(result(home, "dom0-name")).isEqualTo("EACCES");
        assertThat(result(home, "other-name")).isEqualTo("EACCES");
        assertThat(result(home, "write-dom0")).isEqualTo("EACCES");
        assertThat(result(home, "write-home")).isEqualTo("EACCES");
        assertThat(result(home, "introduce")).isEqualTo("EACCES");
        assertThat(result(home, "flood")).isEqualTo("ENOSPC");
        // Announced once the kernel's run() returned, just after the probe's last write.
        awaitValue(home + "/control/feature-poweroff", "1");
        assertThat(xs.getPerms(home + "/data/result-flood").owner()).isEqualTo(g.domid());
    }

    @ParameterizedTest(name = "own process: {0}")
    @ValueSource(booleans = {false, true})
    void shutdownRequestPowersTheGuestOffAndTheToolstackCleansUp(boolean ownProcess) throws Exception {
        Host.Guest g = host.create(GuestConfig.of("quitter", ownProcess));
        String home = "/local/domain/" + g.domid();
        awaitValue(home + "/control/feature-suspend", "1");
        LinkedBlockingQueue<String> released = watchReleases();

        host.libxl().requestShutdown(g.domid(), "poweroff");

        assertThat(released.poll(30, TimeUnit.SECONDS)).isEqualTo("@releaseDomain");
        awaitGone(home);
        awaitDomainGone(g.domid());
        assertThat(domainFiles(g.domid())).isEmpty();
    }

    @Test
    void aDestroyedInProcessGuestLeavesNoThreadOfItsOwn() throws Exception {
        Host.Guest g = host.create(GuestConfig.of("brief", false));
        awaitValue("/local/domain/" + g.domid() + "/control/feature-suspend", "1");
        String prefix = "d" + g.domid() + "-";
        assertThat(threadsNamed(prefix)).as("its kernel and console shell").contains(prefix + "kernel", prefix + "sh");

        host.destroy(g.domid());
        awaitDomainGone(g.domid());
        List<String> left = threadsNamed(prefix);
        for (int i = 0; i < 200 && !left.isEmpty(); i++) {
            Thread.sleep(50);
            left = threadsNamed(prefix);
        }
        assertThat(left).isEmpty();
    }

    /** Every thread of this JVM, virtual ones included (a thread dump), whose name starts with {@code prefix}. */
    private static List<String> threadsNamed(String prefix) throws Exception {
        Path f = Files.createTempFile("threads", ".json");
        Files.delete(f);
        try {
            java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
                    .dumpThreads(f.toString(), com.sun.management.HotSpotDiagnosticMXBean.ThreadDumpFormat.JSON);
            java.util.regex.Matcher m = java.util.regex.Pattern
                    .compile("\"name\":\\s*\"(" + java.util.regex.Pattern.quote(prefix) + "[^\"]*)\"")
                    .matcher(Files.readString(f));
            List<String> names = new java.util.ArrayList<>();
            while (m.find()) names.add(m.group(1));
            return names;
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void killedGuestProcessCrashesAndIsReleased() throws Exception {
        Host.Guest g = host.create(GuestConfig.of("victim", true));
        String home = "/local/domain/" + g.domid();
        awaitValue(home + "/control/feature-suspend", "1");
        xs.write(home + "/data/marker", "guest-owned now");
        xs.setPerms(home + "/data/marker", org.jxen.xenstore.XsPerms.of(new org.jxen.xenstore.XsPerm(g.domid(), false, false)));
        LinkedBlockingQueue<String> released = watchReleases();

        g.process().destroyForcibly().waitFor();

        assertThat(released.poll(30, TimeUnit.SECONDS)).isEqualTo("@releaseDomain");
        awaitGone(home);
        awaitDomainGone(g.domid());
        assertThat(xs.exists(home + "/data/marker")).isFalse();
        assertThat(xs.isDomainIntroduced(g.domid())).isFalse();
        assertThat(xenstoredCheck()).isEqualTo("OK");
    }

    private String xenstoredCheck() throws Exception {
        byte[] r = xs.control("check");
        return new String(r, 0, r.length - 1);
    }

    private LinkedBlockingQueue<String> watchReleases() throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        xs.watch("@releaseDomain", "rel", (path, token) -> q.add(path));
        assertThat(q.poll(10, TimeUnit.SECONDS)).isEqualTo("@releaseDomain");
        return q;
    }

    private String result(String home, String name) throws Exception {
        return xs.readString(home + "/data/result-" + name);
    }

    /** Waits for a node to appear, by watching it (no sleeping in a loop). */
    private void awaitNode(String path) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        String token = "await-" + path;
        xs.watch(path, token, (p, t) -> q.add(p));
        try {
            while (!xs.exists(path)) assertThat(q.poll(60, TimeUnit.SECONDS)).as("waiting for %s", path).isNotNull();
        } finally {
            xs.unwatch(path, token);
        }
    }

    /** Waits for a node to hold a value (the guest writes its control/feature-* once its kernel is up). */
    private void awaitValue(String path, String value) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        String token = "value-" + path;
        xs.watch(path, token, (p, t) -> q.add(p));
        try {
            while (!value.equals(xs.readOrNull(path))) {
                assertThat(q.poll(60, TimeUnit.SECONDS)).as("waiting for %s = %s", path, value).isNotNull();
            }
        } finally {
            xs.unwatch(path, token);
        }
    }

    private void awaitGone(String path) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        String token = "gone-" + path;
        xs.watch(path, token, (p, t) -> q.add(p));
        try {
            while (xs.exists(path)) assertThat(q.poll(60, TimeUnit.SECONDS)).as("waiting for %s to go", path).isNotNull();
        } finally {
            xs.unwatch(path, token);
        }
    }

    /** The hypervisor forgets a destroyed domain once nobody maps its pages. */
    private void awaitDomainGone(int domid) throws Exception {
        for (int i = 0; i < 600; i++) {
            try {
                host.dom0().domainControl().info(domid);
            } catch (HypercallException e) {
                if (domainFiles(domid).isEmpty()) return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("domain " + domid + " still exists or left files: " + domainFiles(domid));
    }

    private List<Path> domainFiles(int domid) throws Exception {
        try (Stream<Path> s = Files.list(dir.resolve("hv/shm"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("d" + domid + ".")).toList();
        }
    }

    @Test
    void introduceOfADomainWithoutAGrantedPageFails() {
        XenStoreException e = org.junit.jupiter.api.Assertions.assertThrows(XenStoreException.class,
                () -> xs.introduce(77, 1, 1));
        assertThat(e.error()).isEqualTo(XsError.EINVAL);
    }

    @ParameterizedTest(name = "own process: {0}")
    @ValueSource(booleans = {false, true})
    void aGuestsHomeHoldsLibxlsNodesWithLibxlsPermissions(boolean ownProcess) throws Exception {
        Host.Guest g = host.create(GuestConfig.of("nodes", ownProcess));
        int id = g.domid();
        String home = "/local/domain/" + id;
        awaitValue(home + "/control/feature-suspend", "1");
        DomainInfo info = host.dom0().domainControl().info(id);
        String vm = xs.readString(home + "/vm");
        String uuid = UUID.fromString(vm.substring("/vm/".length())).toString();
        assertThat(vm).isEqualTo("/vm/" + uuid);
        String dom0Only = "n0 r" + id;
        String guests = "n" + id;
        String[][] expected = {
            // path, value, permissions (libxl__domain_make and libxl__build_post for a PV guest)
            {home, "", dom0Only},
            {home + "/vm", vm, dom0Only},
            {home + "/name", "nodes", dom0Only},
            {home + "/domid", Integer.toString(id), dom0Only},
            {home + "/memory", "", dom0Only},
            {home + "/memory/static-max", "16384", dom0Only},
            {home + "/memory/target", "16384", dom0Only},
            {home + "/cpu", "", dom0Only},
            {home + "/cpu/0/availability", "online", dom0Only},
            {home + "/store/port", Integer.toString(info.xenstorePort()), dom0Only},
            {home + "/store/ring-ref", "1", dom0Only},
            {home + "/console/port", Integer.toString(info.consolePort()), dom0Only},
            {home + "/console/ring-ref", "0", dom0Only},
            {home + "/device", "", guests}, // libxl: dom0Only; see Libxl.GUEST_OWNED
            {home + "/device/suspend", "", guests},
            {home + "/device/suspend/event-channel", "", guests},
            {home + "/control", "", dom0Only},
            {home + "/control/shutdown", "", guests},
            {home + "/control/feature-poweroff", "1", guests},
            {home + "/control/feature-reboot", "1", guests},
            {home + "/control/feature-suspend", "1", guests},
            {home + "/control/sysrq", "", guests},
            {home + "/control/platform-feature-multiprocessor-suspend", "1", dom0Only},
            {home + "/control/platform-feature-xs_reset_watches", "1", dom0Only},
            {home + "/data", "", guests},
            {home + "/drivers", "", guests},
            {home + "/feature", "", guests},
            {home + "/attr", "", guests},
            {home + "/error", "", guests},
            {vm, "", dom0Only},
            {vm + "/uuid", uuid, dom0Only},
            {vm + "/name", "nodes", dom0Only},
        };
        for (String[] node : expected) {
            assertThat(xs.readString(node[0])).as("value of %s", node[0]).isEqualTo(node[1]);
            assertThat(xs.getPerms(node[0])).as("permissions of %s", node[0]).hasToString(node[2]);
        }
        assertThat(xs.directory(home)).containsExactlyInAnyOrder("vm", "name", "domid", "memory", "cpu", "store",
                "console", "device", "control", "data", "drivers", "feature", "attr", "error");
        assertThat(xs.directory(home + "/control")).containsExactlyInAnyOrder("shutdown", "feature-poweroff",
                "feature-reboot", "feature-suspend", "sysrq", "platform-feature-multiprocessor-suspend",
                "platform-feature-xs_reset_watches");
    }

    @Test
    void anInProcessKernelThatReturnsPowersOffAndOneThatThrowsCrashes() throws Exception {
        Host.Guest ok = host.create(new GuestConfig("returns", 16, 1, ExitKernel.class.getName(), List.of("ok"), false));
        Host.Guest panic = host.create(new GuestConfig("panics", 16, 1, ExitKernel.class.getName(), List.of("panic"),
                false));
        LogAwait.line(host.dom0Kernel().log(), "toolstack: domain " + ok.domid()
                + " (returns) has shut down, reason code 0");
        LogAwait.line(host.dom0Kernel().log(), "toolstack: domain " + panic.domid()
                + " (panics) has shut down, reason code 3 (crashed)");
        awaitDomainGone(ok.domid());
        awaitDomainGone(panic.domid());
        assertThat(host.guests()).isEmpty();
    }
}
