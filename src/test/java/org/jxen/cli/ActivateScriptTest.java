package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The project's {@code examples/activate.sh} (the 2016 blog's script) and its guest config
 * {@code examples/mydevice-guest.cfg}, used as a reader would: {@code xl create} the config, run the script with
 * Debian's xenstore-utils, and both ends of mydevice reach Connected with the blog's lines in both kernel logs;
 * each of the blog's two permission variants leaves its own permissions on the two directories.
 */
@Timeout(120)
class ActivateScriptTest extends XlHostFixture {
    private static final Path SCRIPT = Path.of("examples", "activate.sh");
    private static final Path CONFIG = Path.of("examples", "mydevice-guest.cfg");
    private static final String FRONT = "/local/domain/1/device/mydevice/0";
    private static final String BACK = "/local/domain/0/backend/mydevice/1/0";

    @BeforeEach
    void debianToolsAreHere() {
        // Not an assumption: a machine without them fails here, by name, rather than skipping the test.
        assertThat(Path.of("/usr/bin/xenstore-write")).as("Debian's xenstore-utils (apt-get install xenstore-utils)")
                .isExecutable();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"world-read", "per-domain"})
    void theExampleGuestAndScriptConnectBothEnds(String variant) throws Exception {
        XlResult c = xl("create", CONFIG.toString());
        assertThat(c.code()).as(c.err()).isZero();
        awaitConsole("Hello World!");

        Run r = script("1", variant);
        assertThat(r.code).as(r.out).isZero();
        assertThat(r.out).isEmpty();

        XsClient xs = host.xenstore();
        await().atMost(Duration.ofSeconds(60)).until(() -> state(xs, FRONT).equals("4") && state(xs, BACK).equals("4"));
        assertThat(host.dom0Kernel().log().lines()).containsSubsequence("Hello World!", "Probe called. We are good to go.",
                "Connecting the backend now.");
        awaitConsole("Other side says it is connected as well.");
        assertThat(host.consoleLog(1).lines()).containsSubsequence("Hello World!", "Probe called. We are good to go.",
                "Connecting the frontend now.", "Other side says it is connected as well.");

        if (variant.equals("world-read")) {
            assertThat(xs.getPerms(BACK)).isEqualTo(XsPerms.parse(java.util.List.of("r0")));
        } else {
            assertThat(xs.getPerms(BACK)).isEqualTo(XsPerms.parse(java.util.List.of("r0", "b1")));
            assertThat(xs.getPerms(FRONT)).isEqualTo(XsPerms.parse(java.util.List.of("r1", "b0")));
        }
    }

    @Test
    void withoutADomainItPrintsItsUsageAndFails() throws Exception {
        Run r = script();
        assertThat(r.code).isEqualTo(1);
        assertThat(r.out).startsWith("Usage: examples/activate.sh DOMU_ID [world-read|per-domain]\n");

        Run bad = script("1", "open");
        assertThat(bad.code).isEqualTo(1);
        assertThat(bad.out).isEqualTo("examples/activate.sh: unknown permission variant open (world-read or per-domain)\n");
    }

    @Test
    void theConfigIsOneXlReadsAsIs() throws Exception {
        assertThat(Files.readString(CONFIG)).contains("name = \"domu\"", "drivers = ['mydevicefront']");
        assertThat(Files.isExecutable(SCRIPT)).isTrue();
    }

    private record Run(int code, String out) {}

    /** bash examples/activate.sh ARGS, with Debian's tools first on PATH, against this test's xenstored. */
    private Run script(String... args) throws IOException, InterruptedException {
        var cmd = new java.util.ArrayList<>(java.util.List.of("bash", SCRIPT.toString()));
        cmd.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("XENSTORED_PATH", host.xenstoredSocket().toString());
        pb.environment().put("PATH", "/usr/bin:/bin");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out);
    }

    private void awaitConsole(String line) {
        await().atMost(Duration.ofSeconds(60)).until(() -> host.consoleLog(1).lines().contains(line));
    }

    private static String state(XsClient xs, String dir) throws IOException {
        String v = xs.readOrNull(dir + "/state");
        return v == null ? "" : v;
    }
}
