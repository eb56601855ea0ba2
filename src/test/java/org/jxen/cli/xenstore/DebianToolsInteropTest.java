package org.jxen.cli.xenstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstored.XenStoredServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's xenstore-utils 4.17 against jxen's xenstored, and our tools against a second, identical daemon:
 * every step of the same command sequence must give byte-identical stdout and stderr and the same status.
 * Some steps also pin Debian's exact output, so a change on both sides cannot pass unnoticed.
 */
@Timeout(180)
class DebianToolsInteropTest {
    private static final Path DEBIAN_READ = Path.of("/usr/bin/xenstore-read");

    @TempDir
    Path dir;

    private XenStoredServer forDebian;
    private XenStoredServer forJxen;

    @BeforeEach
    void start() throws IOException {
        if (!Files.isExecutable(DEBIAN_READ)) {
            if ("true".equals(System.getenv("CI"))) fail("CI=true but Debian's xenstore-utils are missing (" + DEBIAN_READ + ")");
            Assumptions.abort("Debian's xenstore-utils are not installed");
        }
        forDebian = XenStoredServer.start(new XenStoredServer.Options(Files.createDirectories(dir.resolve("deb")).resolve("socket"), null));
        forJxen = XenStoredServer.start(new XenStoredServer.Options(Files.createDirectories(dir.resolve("jx")).resolve("socket"), null));
    }

    @AfterEach
    void stop() {
        if (forDebian != null) forDebian.close();
        if (forJxen != null) forJxen.close();
    }

    /** Runs one step on both sides, requires identical results, returns Debian's. */
    private ToolRun both(String tool, String... args) throws Exception {
        ToolRun debian = ToolRun.debian(forDebian.socketPath(), tool, args);
        ToolRun jxen = ToolRun.jxen(forJxen.socketPath(), tool, args);
        assertThat(jxen).as("%s %s", tool, String.join(" ", args)).isEqualTo(debian);
        return debian;
    }

    @Test
    void writeReadListLsExistsRm() throws Exception {
        String hundred = "x".repeat(100);
        assertThat(both("xenstore-write", "/a/b", "hello\\tworld\\x01\\\\", "/a/c", hundred, "/d", ""))
                .isEqualTo(new ToolRun("", "", 0));
        assertThat(both("xenstore-read", "/a/b", "/a/c")).isEqualTo(new ToolRun("hello\\tworld\\001\\\\\n" + hundred + "\n", "", 0));
        assertThat(both("xenstore-read", "-R", "/a/b")).isEqualTo(new ToolRun("hello\tworld\u0001\\", "", 0));
        assertThat(both("xenstore-read", "-p", "/a/b", "/a/x"))
                .isEqualTo(new ToolRun("/a/b: hello\\tworld\\001\\\\\n", "xenstore-read: couldn't read path /a/x\n", 1));
        assertThat(both("xenstore-read", "/missing")).isEqualTo(new ToolRun("", "xenstore-read: couldn't read path /missing\n", 1));
        both("xenstore", "read", "/a/b");
        assertThat(both("xenstore-list", "-p", "/")).isEqualTo(new ToolRun("//tool\n//a\n//d\n", "", 0));
        both("xenstore-list", "/a", "/d");
        assertThat(both("xenstore-list", "/a/b/c")).isEqualTo(new ToolRun("", "xenstore-list: could not list path /a/b/c\n", 1));
        assertThat(both("xenstore-ls", "-p").out()).isEqualTo(
                "tool = \"\"  . . . . . . . . . . . . . . . . . . . . . . . . .  (n0)\n"
                        + " xenstored = \"\"  . . . . . . . . . . . . . . . . . . . . . .  (n0)\n"
                        + "a = \"\" . . . . . . . . . . . . . . . . . . . . . . . . . . .  (n0)\n"
                        + " b = \"hello\\tworld\\001\\\\\"  . . . . . . . . . . . . . . . . .  (n0)\n"
                        + " c = \"" + "x".repeat(70) + "\\...\"  (n0)\n"
                        + "d = \"\" . . . . . . . . . . . . . . . . . . . . . . . . . . .  (n0)\n");
        assertThat(both("xenstore-ls", "-f", "-p", "/a").out())
                .isEqualTo("/a/b = \"hello\\tworld\\001\\\\\"   (n0)\n/a/c = \"" + hundred + "\"   (n0)\n");
        both("xenstore-ls");
        both("xenstore", "ls", "/a");
        assertThat(both("xenstore-ls", "/nope")).isEqualTo(new ToolRun("", "xenstore-ls: xs_directory (/nope): No such file or directory\n", 1));
        assertThat(both("xenstore-exists", "/a")).isEqualTo(new ToolRun("", "", 0));
        assertThat(both("xenstore-exists", "/a", "/zz")).isEqualTo(new ToolRun("", "", 1));
        assertThat(both("xenstore-rm", "/zz/yy")).isEqualTo(new ToolRun("", "xenstore-rm: could not remove path /zz/yy\n", 1));
        assertThat(both("xenstore-rm", "/a/nothing")).isEqualTo(new ToolRun("", "", 0));
        both("xenstore-write", "/t/x/y", "", "/t/v", "keep", "/u/1/2", "");
        both("xenstore-rm", "-t", "/t/x/y", "/u/1/2");
        assertThat(both("xenstore-ls", "-f").out()).contains("/t/v = \"keep\"\n").doesNotContain("/t/x", "/u");
        assertThat(both("xenstore-rm", "/")).isEqualTo(new ToolRun("", "xenstore-rm: could not remove path /\n", 1));
        assertThat(both("xenstore-write", "/bad!", "1")).isEqualTo(new ToolRun("", "xenstore-write: could not write path /bad!\n", 1));
        both("xenstore-read", "a", "//a", "/a/");
    }

    @Test
    void chmodAndPermissionListing() throws Exception {
        both("xenstore-write", "/a/b/c", "1", "/a/d", "2");
        assertThat(both("xenstore-chmod", "/a", "x1")).isEqualTo(new ToolRun("", "xenstore-chmod: Invalid permission specification: 'x'\n", 1));
        assertThat(both("xenstore-chmod", "/a", "r-1"))
                .isEqualTo(new ToolRun("", "xenstore-chmod: Error occurred setting permissions on '/a': No such file or directory\n", 1));
        both("xenstore-chmod", "/a", "r99999");
        both("xenstore-chmod", "/a");
        assertThat(both("xenstore-chmod", "-u", "a/b", "r0"))
                .isEqualTo(new ToolRun("", "xenstore-chmod: Error occurred setting permissions on 'a/b': No such file or directory\n", 1));
        assertThat(both("xenstore-chmod", "-r", "/a", "b0", "r5")).isEqualTo(new ToolRun("", "", 0));
        assertThat(both("xenstore-ls", "-f", "-p", "/a").out())
                .isEqualTo("/a/b = \"\"   (b0,r5)\n/a/b/c = \"1\"   (b0,r5)\n/a/d = \"2\"   (b0,r5)\n");
        both("xenstore-chmod", "-u", "/a/b/c", "n0", "w3");
        both("xenstore-ls", "-p");
    }

    @Test
    void usageAndOptionErrors() throws Exception {
        for (String tool : List.of("xenstore-read", "xenstore-write", "xenstore-rm", "xenstore-exists", "xenstore-list",
                "xenstore-ls", "xenstore-chmod", "xenstore-watch")) {
            assertThat(both(tool, "-h").status()).isEqualTo(1);
            // -n 1: a watch without it would wait for events forever.
            both(tool, "--bogus", "-y", "-n", "1", "/a");
        }
        assertThat(both("xenstore-read").err()).isEqualTo("xenstore-read: Usage: xenstore-read [-h] [-p] [-s] [-R] key [...]\n");
        both("xenstore-write", "a");
        both("xenstore-ls", "-t");
        both("xenstore-watch", "--number");
        both("xenstore-chmod", "--r", "/a", "b0");
        both("xenstore-read", "--help=1");
        both("xenstore");
        assertThat(both("xenstore", "foo")).isEqualTo(new ToolRun("", "xenstore: unknown mode foo\n\n", 1));
        both("xenstore", "read", "-x", "/a");
        both("xenstore", "write", "-h");
        both("xenstore-read", "--", "-p");
    }

    @Test
    void watchPrintsEventsAndStopsAfterN() throws Exception {
        both("xenstore-write", "/a", "", "/d", "");
        assertThat(both("xenstore-watch", "-n", "2", "/a", "/d")).isEqualTo(new ToolRun("/a\n/d\n", "", 0));
        both("xenstore-watch", "-n", "1", "@introduceDomain");
        assertThat(both("xenstore-watch", "-n", "1", "bad!")).isEqualTo(new ToolRun("", "xenstore-watch: Unable to add watch on bad!\n\n", 1));
        // A change made after the watch is in place: the third line is the changed node.
        assertThat(watchThenWrite(true)).isEqualTo("/a\n/d\n/a/new\n");
        assertThat(watchThenWrite(false)).isEqualTo("/a\n/d\n/a/new\n");
    }

    /** Runs {@code xenstore-watch -n 3 /a /d}, waits for the two initial events, writes /a/new, returns stdout. */
    private String watchThenWrite(boolean debian) throws Exception {
        Path socket = (debian ? forDebian : forJxen).socketPath();
        LineCounter out = new LineCounter();
        CompletableFuture<Integer> status;
        Process process = null;
        if (debian) {
            ProcessBuilder pb = new ProcessBuilder("xenstore-watch", "-n", "3", "/a", "/d");
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/bin:/bin");
            pb.environment().put("XENSTORED_PATH", socket.toString());
            pb.redirectError(ProcessBuilder.Redirect.DISCARD);
            Process p = pb.start();
            process = p;
            status = CompletableFuture.supplyAsync(() -> {
                try (InputStream in = p.getInputStream()) {
                    in.transferTo(out);
                    return p.waitFor();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }, task -> Thread.ofPlatform().daemon().start(task));
        } else {
            PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
            status = CompletableFuture.supplyAsync(() -> XenstoreClientTool.run("xenstore-watch",
                    List.of("-n", "3", "/a", "/d"), Map.of("XENSTORED_PATH", socket.toString()), ps, ps),
                            task -> Thread.ofPlatform().daemon().start(task));
        }
        try {
            assertThat(out.lines.tryAcquire(2, 60, TimeUnit.SECONDS)).as("initial watch events").isTrue();
            try (XsClient c = new XsClient(UnixSocketChannel.connect(socket))) {
                c.write("/a/new", "1");
            }
            assertThat(status.get(60, TimeUnit.SECONDS)).isZero();
            return out.toString(StandardCharsets.UTF_8);
        } finally {
            if (process != null) process.destroyForcibly();
        }
    }

    /** Collects bytes and releases a permit per newline, so a test can wait for lines without sleeping. */
    private static final class LineCounter extends OutputStream {
        final Semaphore lines = new Semaphore(0);
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            bytes.write(b);
            if (b == '\n') lines.release();
        }

        synchronized String toString(java.nio.charset.Charset cs) {
            return bytes.toString(cs);
        }
    }

    @Test
    void relativePathsAndChmodsPathBuffer() throws Exception {
        assertThat(both("xenstore-write", "rel/a", "1", "rel/b", "")).isEqualTo(new ToolRun("", "", 0));
        assertThat(both("xenstore-list", "-p", "rel")).isEqualTo(new ToolRun("rel/a\nrel/b\n", "", 0));
        assertThat(both("xenstore-watch", "-n", "1", "rel")).isEqualTo(new ToolRun("rel\n", "", 0));
        both("xenstore-ls", "-f", "-p", "/local");
        both("xenstore-rm", "-t", "rel/b");
        both("xenstore-ls", "/local/domain/0");
        // chmod -r builds child paths in a 256-byte buffer: below that depth it works on truncated paths.
        String deep = "/deep/" + "seg/".repeat(70) + "end";
        both("xenstore-write", deep, "v");
        ToolRun chmod = both("xenstore-chmod", "-r", "/deep", "b0");
        assertThat(chmod.status()).isEqualTo(1);
        assertThat(chmod.err()).startsWith("xenstore-chmod: Error occurred setting permissions on '/deep/seg/");
        both("xenstore-ls", "-p", "/deep");
    }

    @Test
    void multiKeyWriteIsOneTransaction() throws Exception {
        List<String> args = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            args.add("/m/" + i);
            args.add("v" + i);
        }
        both("xenstore-write", args.toArray(String[]::new));
        ToolRun listing = both("xenstore-list", "/m");
        assertThat(listing.out().lines().toList()).hasSize(20).startsWith("0", "1", "2");
    }
}
