package org.jxen.system.blk;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstored.XenStoredServer;

/**
 * scripts/hotplug/block as a real process against a real xenstored, with Debian's xenstore tools and with
 * jxen's own (the script's XENSTORE_READ/WRITE/RM overrides), checking the exact nodes it leaves.
 */
@Timeout(180)
class BlockHotplugScriptTest {
    private static final Path SCRIPT = Path.of("scripts/hotplug/block").toAbsolutePath();
    private static final String BE = "/local/domain/0/backend/vbd/5/51712";

    @TempDir
    Path dir;
    private XenStoredServer xenstored;
    private XsClient xs;

    static Stream<String> tools() {
        return Stream.of("debian", "jxen");
    }

    @BeforeEach
    void start() throws Exception {
        xenstored = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
        xs = new XsClient(UnixSocketChannel.connect(xenstored.socketPath()));
    }

    @AfterEach
    void stop() throws Exception {
        if (xs != null) xs.close();
        if (xenstored != null) xenstored.close();
    }

    private int run(String tools, String action) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(SCRIPT.toString(), action);
        Map<String, String> env = pb.environment();
        env.clear();
        env.put("PATH", "/usr/bin:/bin");
        env.put("XENSTORED_PATH", xenstored.socketPath().toString());
        env.put("XENBUS_PATH", BE);
        if (tools.equals("debian")) {
            Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/xenstore-read")), "Debian's xenstore-utils");
        } else {
            String java = ProcessHandle.current().info().command().orElseThrow();
            String cmd = java + " -cp " + System.getProperty("java.class.path") + " org.jxen.cli.JxenCommand ";
            env.put("XENSTORE_READ", cmd + "xenstore-read");
            env.put("XENSTORE_WRITE", cmd + "xenstore-write");
            env.put("XENSTORE_RM", cmd + "xenstore-rm");
            env.put("XENSTORE_LIST", cmd + "xenstore-list");
        }
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.redirectError(dir.resolve("stderr").toFile());
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }

    private static String hexDev(long dev) {
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        return Long.toHexString(major) + ":" + Long.toHexString(minor);
    }

    private Map<String, String> backend() throws Exception {
        Map<String, String> m = new HashMap<>();
        for (String k : xs.directory(BE)) m.put(k, xs.readString(BE + "/" + k));
        return m;
    }

    @ParameterizedTest
    @MethodSource("tools")
    void addWritesThePhysicalDeviceAndConnectedThenRemoveCleansUp(String tools) throws Exception {
        Path image = Files.write(dir.resolve("disk.img"), new byte[4096]);
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), image);
        xs.write(BE + "/params", link.toString());
        xs.write(BE + "/mode", "w");
        assertThat(run(tools, "add")).isZero();
        String dev = hexDev((Long) Files.getAttribute(image, "unix:dev"));
        assertThat(backend()).containsExactlyInAnyOrderEntriesOf(Map.of("params", link.toString(), "mode", "w",
                "physical-device-path", image.toRealPath().toString(), "physical-device", dev,
                "hotplug-status", "connected"));

        assertThat(run(tools, "remove")).isZero();
        assertThat(backend()).containsExactlyInAnyOrderEntriesOf(Map.of("params", link.toString(), "mode", "w"));
    }

    @ParameterizedTest
    @MethodSource("tools")
    void readOnlyModeOnAReadableFile(String tools) throws Exception {
        Path image = Files.write(dir.resolve("ro.img"), new byte[512]);
        xs.write(BE + "/params", image.toString());
        xs.write(BE + "/mode", "r");
        assertThat(run(tools, "add")).isZero();
        assertThat(xs.readString(BE + "/hotplug-status")).isEqualTo("connected");
        assertThat(xs.readString(BE + "/physical-device-path")).isEqualTo(image.toRealPath().toString());
    }

    @ParameterizedTest
    @MethodSource("tools")
    void failuresWriteHotplugErrorAndStatusError(String tools) throws Exception {
        Path missing = dir.resolve("nope.img");
        xs.write(BE + "/params", missing.toString());
        xs.write(BE + "/mode", "w");
        assertThat(run(tools, "add")).isEqualTo(1);
        assertThat(backend()).containsEntry("hotplug-status", "error")
                .containsEntry("hotplug-error", missing + " does not exist")
                .doesNotContainKeys("physical-device", "physical-device-path");

        xs.write(BE + "/params", dir.toString());
        assertThat(run(tools, "add")).isEqualTo(1);
        assertThat(xs.readString(BE + "/hotplug-error")).isEqualTo(dir + " is neither a file nor a block device");

        xs.write(BE + "/params", Files.write(dir.resolve("ok.img"), new byte[512]).toString());
        xs.write(BE + "/mode", "x");
        assertThat(run(tools, "add")).isEqualTo(1);
        assertThat(xs.readString(BE + "/hotplug-error")).isEqualTo("mode 'x' is neither r, w nor w!");

        xs.rm(BE + "/mode");
        assertThat(run(tools, "add")).isEqualTo(1);
        assertThat(xs.readString(BE + "/hotplug-error")).isEqualTo(BE + "/mode does not exist");
        assertThat(xs.readString(BE + "/hotplug-status")).isEqualTo("error");
    }
}
