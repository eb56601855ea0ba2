package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScratchDirTest {
    @TempDir
    Path outside;

    /** A JVM that makes a scratch directory with a file in it, prints its path and waits to be stopped. */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            ScratchDir d = ScratchDir.create("jxen-scratch-test");
            Files.write(Files.createDirectories(d.path().resolve("run/sub")).resolve("disk.img"), new byte[4096]);
            System.out.println(d.path());
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    @Test
    void closeDeletesTheTreeAndLinksButNotWhatTheyPointAt() throws Exception {
        Path target = Files.writeString(outside.resolve("keep.txt"), "kept");
        Path dir;
        try (ScratchDir d = ScratchDir.create("jxen-scratch-test")) {
            dir = d.path();
            Files.writeString(Files.createDirectories(dir.resolve("a/b")).resolve("f"), "x");
            Files.createSymbolicLink(dir.resolve("a/link"), target);
            Files.createSymbolicLink(dir.resolve("outside"), outside);
        }
        assertThat(dir).doesNotExist();
        assertThat(target).hasContent("kept");
        assertThat(outside).isDirectory();
    }

    @Test
    void aJvmStoppedBySigtermTakesItsScratchDirectoryWithIt() throws Exception {
        Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Holder.class.getName()))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
            assertThat(line).contains("jxen-scratch-test");
            Path dir = Path.of(line);
            assertThat(dir.resolve("run/sub/disk.img")).hasSize(4096);
            p.destroy(); // SIGTERM: the JVM runs its shutdown hooks
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(143);
            assertThat(dir).doesNotExist();
        } finally {
            p.destroyForcibly();
        }
    }
}
