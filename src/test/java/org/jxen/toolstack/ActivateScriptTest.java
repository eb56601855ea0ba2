package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jxen.kernel.CommandLine;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The blog's activate.sh, taken unchanged from ../shared/seeds at run time and run with Debian's xenstore-utils
 * against a host whose guest 1 has the mydevice frontend loaded: both ends reach Connected and both kernel logs
 * show the blog's lines. Variant 2 is the same script with chapter 2's two chmod lines.
 */
@Timeout(120)
class ActivateScriptTest {
    private static final Path SEEDS = Path.of("..", "shared", "seeds");
    private static final String CHMOD_V1 = "xenstore-chmod $DOM0_KEY r\n";
    private static final String CHMOD_V2 = "xenstore-chmod $DOM0_KEY r0 b$DOMU_ID\nxenstore-chmod $DOMU_KEY r$DOMU_ID b0\n";

    @TempDir
    Path dir;
    private Host host;

    @BeforeEach
    void start() throws Exception {
        boolean ci = "true".equals(System.getenv("CI"));
        boolean tools = Files.isExecutable(Path.of("/usr/bin/xenstore-write"));
        if (ci) assertThat(tools).as("CI needs Debian's xenstore-utils").isTrue();
        Assumptions.assumeTrue(tools, "Debian's xenstore-utils are not installed");
        host = Host.start(dir.resolve("host"), false);
    }

    @AfterEach
    void stop() {
        if (host != null) host.close();
    }

    @ParameterizedTest(name = "variant {0}")
    @ValueSource(ints = {1, 2})
    void activateShConnectsBothEnds(int variant) throws Exception {
        String script = activateSh();
        assertThat(script).contains(CHMOD_V1);
        if (variant == 2) script = script.replace(CHMOD_V1, CHMOD_V2);
        Path file = dir.resolve("activate.sh");
        Files.writeString(file, script);

        Host.Guest g = host.create(new GuestConfig("domu", 16, 1, GuestConfig.MODULAR_KERNEL,
                List.of(CommandLine.MODULES_LOAD + "mydevicefront"), true));
        assertThat(g.domid()).isEqualTo(1);
        XsClient xs = host.xenstore();
        String front = "/local/domain/1/device/mydevice/0";
        String back = "/local/domain/0/backend/mydevice/1/0";
        LinkedBlockingQueue<String> changes = new LinkedBlockingQueue<>();
        xs.watch(front, "front", (p, t) -> changes.add(p));
        xs.watch(back, "back", (p, t) -> changes.add(p));
        awaitLine(host.consoleLog(1)::lines, "Hello World!");

        ProcessBuilder pb = new ProcessBuilder("bash", file.toString(), "1").redirectErrorStream(true);
        pb.environment().put("XENSTORED_PATH", host.xenstoredSocket().toString());
        pb.environment().put("PATH", "/usr/bin:/bin");
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(output).isZero();

        while (!(state(xs, front).equals("4") && state(xs, back).equals("4"))) {
            assertThat(changes.poll(60, TimeUnit.SECONDS)).as("front %s, back %s", state(xs, front), state(xs, back))
                    .isNotNull();
        }
        List<String> dom0 = host.dom0Kernel().log().lines();
        assertThat(dom0).containsSubsequence("Hello World!", "Probe called. We are good to go.",
                "Connecting the backend now.");
        awaitLine(host.consoleLog(1)::lines, "Other side says it is connected as well.");
        assertThat(host.consoleLog(1).lines()).containsSubsequence("Hello World!", "Probe called. We are good to go.",
                "Connecting the frontend now.", "Other side says it is connected as well.");
    }

    private static String state(XsClient xs, String dir) throws IOException {
        return xs.exists(dir + "/state") ? xs.readString(dir + "/state") : "";
    }

    private interface Lines {
        List<String> get();
    }

    private static void awaitLine(Lines log, String line) throws InterruptedException {
        for (int i = 0; i < 600 && !log.get().contains(line); i++) Thread.sleep(50);
        assertThat(log.get()).contains(line);
    }

    /** The activate.sh code block of the 2016 blog post, exactly as published. */
    static String activateSh() throws IOException {
        boolean ci = "true".equals(System.getenv("CI"));
        if (ci) assertThat(SEEDS).as("CI has ../shared/seeds beside the clone").isDirectory();
        Assumptions.assumeTrue(Files.isDirectory(SEEDS), "../shared/seeds is not beside this checkout");
        Pattern block = Pattern.compile("~~~bash\\n(#!/bin/bash\\n.*?)~~~", Pattern.DOTALL);
        try (Stream<Path> files = Files.list(SEEDS)) {
            for (Path f : files.sorted().toList()) {
                Matcher m = block.matcher(Files.readString(f));
                while (m.find()) if (m.group(1).contains("DOM0_KEY")) return m.group(1);
            }
        }
        throw new AssertionError("no activate.sh block in " + SEEDS);
    }
}
