package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jxen demo --device/--frontend/--backend/--module-path}: modules that neither jxen nor the module path has
 * are refused before a host starts, with what there is. (A device of the reader's own, from a jar, is drawn by
 * docs/tutorial.md's demo line, which DocsTest runs.)
 */
@Timeout(60)
class DemoDeviceOptionsTest {
    @TempDir
    Path dir;

    private record Result(int code, String out, String err) {}

    private Result demo(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            String[] all = new String[args.length + 3];
            all[0] = "demo";
            all[1] = "--run-dir";
            all[2] = dir.resolve("run").toString();
            System.arraycopy(args, 0, all, 3, args.length);
            int code = JxenCommand.commandLine().execute(all);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    @Test
    void aDeviceWhoseModulesNobodyHasIsRefusedWithTheModulesThereAre() {
        Result r = demo("--device", "echo");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("jxen demo: no kernel module echofront or echoback in jxen (modules: ")
                .contains("mydevicefront", "mydeviceback")
                .endsWith("; a jar of your own goes on --module-path)\n");
        assertThat(r.out()).as("no host was started").isEmpty();
        assertThat(dir.resolve("run")).doesNotExist();
    }

    @Test
    void theModulesAreNamedByTheOptionsAndAMissingJarIsNamed() {
        Result r = demo("--device", "mydevice", "--frontend", "mydevicefront", "--backend", "nosuchback");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("jxen demo: no kernel module nosuchback in jxen (modules: ");

        Path jar = dir.resolve("none.jar");
        r = demo("--module-path", jar.toString(), "--device", "echo");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("jxen demo: --module-path: " + jar + ": No such file or directory\n");
    }
}
