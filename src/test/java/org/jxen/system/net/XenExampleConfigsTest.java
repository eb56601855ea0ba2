package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jxen.cli.XlResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Config files in the style of Xen's tools/examples (examples/xlexample.pvlinux and .hvm) boot as they are,
 * vif line included, on a host inside a network namespace this test makes (its vifs never touch the machine's
 * own interfaces): the disk found relative to xl's directory, the vif on xenbr0, the settings jxen has no
 * hardware for named in one warning line.
 */
@Timeout(300)
class XenExampleConfigsTest {
    @TempDir
    Path dir;
    private NamespacedHost host;

    @BeforeEach
    void start() throws Exception {
        assumeTrue(NamespacedHost.available(), "needs root and ip netns");
        host = new NamespacedHost(dir, List.of());
    }

    @AfterEach
    void stop() throws Exception {
        if (host != null) host.close();
    }

    /** xl as its own process in the namespace, in {@code cwd} (relative paths in a config are xl's directory's). */
    private XlResult xlIn(Path cwd, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", "cd \"$0\" && exec \"$@\"", cwd.toString(),
                "ip", "netns", "exec", host.ns));
        cmd.addAll(NamespacedHost.java());
        cmd.addAll(List.of("xl", "-H", host.runDir().toString()));
        cmd.addAll(List.of(args));
        return NamespacedHost.exec(cmd);
    }

    @Test
    void xensExampleConfigsInTheirStyleBootAsTheyAre() throws Exception {
        Path examples = Path.of("examples").toAbsolutePath();
        for (String example : List.of("xlexample.pvlinux", "xlexample.hvm")) {
            String name = example.replace("xlexample.", "example.");
            try (var f = new java.io.RandomAccessFile(dir.resolve(name + ".img").toFile(), "rw")) {
                f.setLength(64 << 20);
            }
            XlResult c = xlIn(dir, "create", examples.resolve(example).toString());
            assertThat(c.code()).as(c.err()).isZero();
            assertThat(c.err()).doesNotContain("Exception");
            XlResult blocks = host.xl("block-list", name);
            assertThat(blocks.out()).as(blocks.err()).contains("51712 0 ");
            XlResult nics = host.xl("network-list", name);
            assertThat(nics.out().lines().toList()).as("its vif: %s", nics.err()).hasSize(2);
        }
        assertThat(host.links()).contains("xenbr0", "vif1.0", "vif2.0");
        XlResult hvm = xlIn(dir, "create", examples.resolve("xlexample.hvm").toString(), "name=\"again\"", "disk=[]",
                "vif=[]");
        assertThat(hvm.code()).as(hvm.err()).isZero();
        assertThat(hvm.err().split("\n")).containsExactly("Parsing config from " + examples.resolve("xlexample.hvm"),
                examples.resolve("xlexample.hvm") + ": warning: ignoring settings jxen has no hardware or device for: type,"
                        + " sdl");
        XlResult pv = host.xl("dmesg", "example.pvlinux");
        assertThat(pv.out()).contains("Kernel command line: root=/dev/xvda1 blkfront.max_queues=2");
        assertThat(Files.exists(dir.resolve("example.pvlinux.img"))).isTrue();
    }
}
