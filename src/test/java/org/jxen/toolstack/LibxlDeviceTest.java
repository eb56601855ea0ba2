package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Libxl's device add/remove against a real host, with a test backend driven through XenStore. */
@Timeout(120)
class LibxlDeviceTest {
    private static final Duration SHORT = Duration.ofMillis(500);

    @TempDir
    Path dir;
    private Host host;
    private XsClient xs;
    private int domid;
    private final List<String> warnings = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        host = Host.start(dir.resolve("host"), false);
        xs = host.xenstore();
        domid = host.create(GuestConfig.of("g", false)).domid();
    }

    @AfterEach
    void stop() {
        host.close();
    }

    private Libxl libxl(Map<String, Path> scripts, Duration initWait, Duration close) {
        return new Libxl(xs, scripts, Map.of("XENSTORED_PATH", host.xenstoredSocket().toString()),
                new Libxl.Timeouts(initWait, Duration.ofSeconds(40), close), warnings::add);
    }

    @Test
    void addWritesBothDirectoriesAndReturnsAtInitWait() throws Exception {
        DeviceSpec d = new DeviceSpec("testdev", 0, 0);
        try (TestBackend b = new TestBackend(xs, "testdev", true)) {
            libxl(Map.of(), Duration.ofSeconds(10), Duration.ofSeconds(10)).addDevice(domid, d);
        }
        String fe = "/local/domain/" + domid + "/device/testdev/0";
        String be = "/local/domain/0/backend/testdev/" + domid + "/0";
        assertThat(xs.readString(fe + "/backend")).isEqualTo(be);
        assertThat(xs.readString(fe + "/backend-id")).isEqualTo("0");
        assertThat(xs.readString(fe + "/state")).isEqualTo("1");
        assertThat(xs.readString(be + "/frontend")).isEqualTo(fe);
        assertThat(xs.readString(be + "/frontend-id")).isEqualTo(Integer.toString(domid));
        assertThat(xs.readString(be + "/online")).isEqualTo("1");
        assertThat(xs.readString(be + "/state")).isEqualTo("2");
        assertThat(xs.getPerms(fe)).isEqualTo(XsPerms.of(new XsPerm(domid, false, false), new XsPerm(0, true, false)));
        assertThat(xs.getPerms(fe + "/state")).isEqualTo(xs.getPerms(fe));
        assertThat(xs.getPerms(be)).isEqualTo(XsPerms.of(new XsPerm(0, false, false), new XsPerm(domid, true, false)));
    }

    @Test
    void removeClosesTheBackendAndDeletesBothDirectories() throws Exception {
        DeviceSpec d = new DeviceSpec("testdev", 1, 0);
        Libxl m = libxl(Map.of(), Duration.ofSeconds(10), Duration.ofSeconds(10));
        try (TestBackend b = new TestBackend(xs, "testdev", true)) {
            m.addDevice(domid, d);
            m.removeDevice(domid, d);
        }
        assertThat(xs.exists(DevicePaths.of(domid, d).frontend())).isFalse();
        assertThat(xs.exists("/local/domain/0/backend/testdev/" + domid)).isFalse();
        assertThat(warnings).isEmpty();
    }

    @Test
    void aBackendThatNeverReachesInitWaitFailsTheAddAndLeavesNothing() throws Exception {
        DeviceSpec d = new DeviceSpec("nobackend", 0, 0);
        assertThatThrownBy(() -> libxl(Map.of(), SHORT, SHORT).addDevice(domid, d))
                .isInstanceOf(DeviceException.class)
                .hasMessageContaining("did not reach InitWait within 500 ms");
        assertThat(exists(DevicePaths.of(domid, d).frontend())).isFalse();
        assertThat(exists(DevicePaths.of(domid, d).backend())).isFalse();
    }

    @Test
    void aFrontendThatNeverClosesIsRemovedByForceWithAWarning() throws Exception {
        DeviceSpec d = new DeviceSpec("stuckdev", 0, 0);
        Libxl m = libxl(Map.of(), Duration.ofSeconds(10), SHORT);
        try (TestBackend b = new TestBackend(xs, "stuckdev", false)) {
            m.addDevice(domid, d);
            m.removeDevice(domid, d);
        }
        assertThat(warnings).singleElement().asString().contains("did not close within 500 ms", "forcing removal");
        assertThat(xs.exists(DevicePaths.of(domid, d).frontend())).isFalse();
        assertThat(xs.exists(DevicePaths.of(domid, d).backend())).isFalse();
    }

    @Test
    void aSafeRemovalOfADeviceWhoseBackendNeverClosesFailsAndLeavesIt() throws Exception {
        DeviceSpec d = new DeviceSpec("stuckdev", 0, 0);
        Libxl m = libxl(Map.of(), Duration.ofSeconds(10), SHORT);
        DevicePaths p = DevicePaths.of(domid, d);
        try (TestBackend b = new TestBackend(xs, "stuckdev", false)) {
            m.addDevice(domid, d);
            assertThatThrownBy(() -> m.removeDevice(domid, d, Libxl.Removal.SAFE))
                    .isInstanceOf(DeviceException.class)
                    .hasMessage("unable to remove device with path " + p.backend() + " (its backend did not close within 500 ms)");
        }
        assertThat(warnings).isEmpty();
        assertThat(xs.exists(p.frontend())).isTrue();
        assertThat(xs.readString(p.backend() + "/online")).isEqualTo("0");
        assertThat(xs.readString(p.backend() + "/state")).isEqualTo("5");
    }

    @Test
    void aForcedRemovalTakesTheFrontendFirstAndEverythingEvenIfTheBackendNeverCloses() throws Exception {
        DeviceSpec d = new DeviceSpec("stuckdev", 1, 0);
        Libxl m = libxl(Map.of(), Duration.ofSeconds(10), SHORT);
        DevicePaths p = DevicePaths.of(domid, d);
        try (TestBackend b = new TestBackend(xs, "stuckdev", false)) {
            m.addDevice(domid, d);
            assertThatThrownBy(() -> m.removeDevice(domid, d, Libxl.Removal.FORCE))
                    .isInstanceOf(DeviceException.class)
                    .hasMessageContaining("did not close within 500 ms; removed anyway");
        }
        assertThat(warnings).isEmpty();
        assertThat(xs.exists(p.frontend())).isFalse();
        assertThat(xs.exists(p.backend())).isFalse();
    }

    @Test
    void aHotplugScriptReportingErrorFailsTheAddWithItsMessage() throws Exception {
        Path script = script("fail.sh", "\"$XENBUS_PATH/hotplug-error\" 'bridge xenbr9 not found' \"$XENBUS_PATH/hotplug-status\" error");
        DeviceSpec d = new DeviceSpec("hotdev", 0, 0);
        try (TestBackend b = new TestBackend(xs, "hotdev", true)) {
            assertThatThrownBy(() -> libxl(Map.of("hotdev", script), Duration.ofSeconds(10), SHORT).addDevice(domid, d))
                    .isInstanceOf(DeviceException.class)
                    .hasMessageContaining("add failed")
                    .hasMessageContaining("bridge xenbr9 not found");
        }
        assertThat(exists(DevicePaths.of(domid, d).frontend())).isFalse();
        assertThat(Files.readAllLines(dir.resolve("fail.sh.log")))
                .containsExactly("add " + DevicePaths.of(domid, d).backend());
    }

    @Test
    void aHotplugScriptThatExitsWithAnErrorFailsTheAddAtOnce() throws Exception {
        Path script = dir.resolve("exit3.sh");
        Files.writeString(script, "#!/bin/sh\nexit 3\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        DeviceSpec d = new DeviceSpec("hotdev", 3, 0);
        try (TestBackend b = new TestBackend(xs, "hotdev", true)) {
            assertThatThrownBy(() -> libxl(Map.of("hotdev", script), Duration.ofSeconds(10), SHORT).addDevice(domid, d))
                    .isInstanceOf(DeviceException.class)
                    .hasMessageContaining("add failed for hotdev 3 of domain " + domid + " (exit 3)");
        }
        assertThat(exists(DevicePaths.of(domid, d).backend())).isFalse();
    }

    @Test
    void aHotplugScriptThatNeverReportsTimesOutAndLeavesNothing() throws Exception {
        Path script = dir.resolve("silent.sh");
        Files.writeString(script, "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        DeviceSpec d = new DeviceSpec("hotdev", 4, 0);
        Libxl m = new Libxl(xs, Map.of("hotdev", script), Map.of(),
                new Libxl.Timeouts(Duration.ofSeconds(10), SHORT, SHORT), warnings::add);
        try (TestBackend b = new TestBackend(xs, "hotdev", true)) {
            assertThatThrownBy(() -> m.addDevice(domid, d))
                    .isInstanceOf(DeviceException.class)
                    .hasMessageContaining("did not write hotplug-status within");
        }
        assertThat(exists(DevicePaths.of(domid, d).frontend())).isFalse();
        assertThat(exists(DevicePaths.of(domid, d).backend())).isFalse();
    }

    @Test
    void aHotplugScriptRunsForAddAndRemove() throws Exception {
        Path script = script("ok.sh", "\"$XENBUS_PATH/hotplug-status\" connected");
        DeviceSpec d = new DeviceSpec("hotdev", 2, 0);
        Libxl m = libxl(Map.of("hotdev", script), Duration.ofSeconds(10), Duration.ofSeconds(10));
        try (TestBackend b = new TestBackend(xs, "hotdev", true)) {
            m.addDevice(domid, d);
            assertThat(xs.readString(DevicePaths.of(domid, d).backend() + "/hotplug-status")).isEqualTo("connected");
            m.removeDevice(domid, d);
        }
        String be = DevicePaths.of(domid, d).backend();
        assertThat(Files.readAllLines(dir.resolve("ok.sh.log"))).containsExactly("add " + be, "remove " + be);
    }

    @Test
    void addingTwiceOrRemovingWhatIsNotThereIsAClearError() throws Exception {
        DeviceSpec d = new DeviceSpec("testdev", 5, 0);
        Libxl m = libxl(Map.of(), Duration.ofSeconds(10), Duration.ofSeconds(10));
        try (TestBackend b = new TestBackend(xs, "testdev", true)) {
            m.addDevice(domid, d);
            assertThatThrownBy(() -> m.addDevice(domid, d)).hasMessage("testdev 5 of domain " + domid + " already exists");
        }
        assertThatThrownBy(() -> m.removeDevice(domid, new DeviceSpec("testdev", 9, 0)))
                .hasMessage("no testdev 9 of domain " + domid);
        assertThatThrownBy(() -> m.addDevice(42, d)).hasMessage("domain 42 does not exist");
    }

    @Test
    void destroyingTheDomainRemovesItsBackendDirectories() throws Exception {
        DeviceSpec d = new DeviceSpec("testdev", 0, 0);
        try (TestBackend b = new TestBackend(xs, "testdev", true)) {
            libxl(Map.of(), Duration.ofSeconds(10), Duration.ofSeconds(10)).addDevice(domid, d);
        }
        host.destroy(domid);
        assertThat(xs.exists("/local/domain/0/backend/testdev/" + domid)).isFalse();
    }

    private boolean exists(String path) throws Exception {
        return xs.exists(path);
    }

    /** A hotplug script that logs its call and then runs xenstore-write (ours, in a JVM) with {@code writeArgs}. */
    private Path script(String name, String writeArgs) throws Exception {
        Path log = dir.resolve(name + ".log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String body = "#!/bin/sh\n"
                + "echo \"$1 $XENBUS_PATH\" >> '" + log + "'\n"
                + "[ \"$1\" = add ] || exit 0\n"
                + "exec '" + java + "' -cp '" + System.getProperty("java.class.path") + "' org.jxen.cli.JxenCommand"
                + " xenstore-write " + writeArgs + "\n";
        Path p = dir.resolve(name);
        Files.writeString(p, body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }
}
