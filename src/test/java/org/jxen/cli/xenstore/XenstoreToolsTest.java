package org.jxen.cli.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.fake.FakeXenstored;
import org.jxen.xenstore.fake.MiniStore;
import org.jxen.xenstored.XenStoredServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our xenstore tools in-process against jxen's xenstored. The expected texts are what Debian's
 * xenstore-utils 4.17 print for the same commands (see DebianToolsInteropTest for the live comparison).
 */
@Timeout(60)
class XenstoreToolsTest {
    @TempDir
    Path dir;

    private XenStoredServer server;
    private Path socket;

    @BeforeEach
    void start() throws IOException {
        server = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
        socket = server.socketPath();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private ToolRun run(String tool, String... args) {
        return ToolRun.jxen(socket, tool, args);
    }

    @Test
    void usageGoesToStderrWithStatusOne() {
        assertThat(run("xenstore-read", "-h")).isEqualTo(new ToolRun("",
                "xenstore-read: Usage: xenstore-read [-h] [-p] [-s] [-R] key [...]\n", 1));
        assertThat(run("xenstore-write", "a")).isEqualTo(new ToolRun("",
                "xenstore-write: Usage: xenstore-write [-h] [-s] [-R] key value [...]\n", 1));
        assertThat(run("xenstore-exists", "-p", "a")).isEqualTo(new ToolRun("",
                "xenstore-exists: Usage: xenstore-exists [-h] [-p] [-s] key [...]\n", 1));
        assertThat(run("xenstore-watch", "--number")).isEqualTo(new ToolRun("",
                "xenstore-watch: option '--number' requires an argument\n"
                        + "xenstore-watch: Usage: xenstore-watch [-h] [-n NR] key\n", 1));
        assertThat(run("xenstore")).isEqualTo(new ToolRun("", "xenstore: Usage: xenstore <mode> [-h] [...]\n", 1));
        assertThat(run("xenstore", "foo")).isEqualTo(new ToolRun("", "xenstore: unknown mode foo\n\n", 1));
        assertThat(run("xenstore", "chmod")).isEqualTo(new ToolRun("",
                "xenstore: Usage: xenstore chmod [-h] [-u] [-r] [-s] key <mode [modes...]>\n", 1));
    }

    @Test
    void getoptMistakesAreReportedAndParsingGoesOn() {
        Map<String, String> nowhere = Map.of("XENSTORED_PATH", dir.resolve("none").toString());
        assertThat(ToolRun.jxen(nowhere, -1, "xenstore", "read", "-x", "a")).isEqualTo(new ToolRun("",
                "read: invalid option -- 'x'\nxenstore: xs_open: No such file or directory\n", 1));
        assertThat(ToolRun.jxen(nowhere, -1, "xenstore-chmod", "--r", "a")).isEqualTo(new ToolRun("",
                "xenstore-chmod: option '--r' is ambiguous; possibilities: '--recurse' '--raw'\n"
                        + "xenstore-chmod: xs_open: No such file or directory\n", 1));
        assertThat(ToolRun.jxen(nowhere, -1, "xenstore-read", "--pre", "--foo=1", "a")).isEqualTo(new ToolRun("",
                "xenstore-read: unrecognized option '--foo=1'\nxenstore-read: xs_open: No such file or directory\n", 1));
        // Options after the key: GNU getopt permutes them forward, unless POSIXLY_CORRECT is set.
        assertThat(ToolRun.jxen(nowhere, -1, "xenstore-exists", "a", "-p").err())
                .isEqualTo("xenstore-exists: Usage: xenstore-exists [-h] [-p] [-s] key [...]\n");
        assertThat(ToolRun.jxen(Map.of("XENSTORED_PATH", nowhere.get("XENSTORED_PATH"), "POSIXLY_CORRECT", "1"), -1,
                "xenstore-exists", "a", "-p").err()).isEqualTo("xenstore-exists: xs_open: No such file or directory\n");
        assertThat(ToolRun.jxen(nowhere, -1, "xenstore-read", "--help=3")).isEqualTo(new ToolRun("",
                "xenstore-read: option '--help' doesn't allow an argument\n"
                        + "xenstore-read: Usage: xenstore-read [-h] [-p] [-s] [-R] key [...]\n", 1));
    }

    @Test
    void writeUnescapesAndReadEscapes() throws IOException {
        assertThat(run("xenstore-write", "/a/b", "hello\\tworld\\x01\\\\", "/a/raw", "\\x41\\q\\101\\")).isEqualTo(new ToolRun("", "", 0));
        try (XsClient c = new XsClient(UnixSocketChannel.connect(socket))) {
            assertThat(c.read("/a/b")).isEqualTo("hello\tworld\u0001\\".getBytes(StandardCharsets.US_ASCII));
            assertThat(c.read("/a/raw")).containsExactly('A', 'q', 'A', 0);
        }
        assertThat(run("xenstore-read", "/a/b", "/a/raw")).isEqualTo(new ToolRun("hello\\tworld\\001\\\\\nAqA\\000\n", "", 0));
        assertThat(run("xenstore-read", "-R", "-p", "/a/b")).isEqualTo(new ToolRun("/a/b: hello\tworld\u0001\\", "", 0));
        assertThat(run("xenstore-write", "-R", "/a/r", "\\t")).isEqualTo(new ToolRun("", "", 0));
        assertThat(run("xenstore-read", "-R", "/a/r")).isEqualTo(new ToolRun("\\t", "", 0));
    }

    @Test
    void failingReadAbortsButStillPrintsWhatWasRead() {
        run("xenstore-write", "/a/b", "1");
        assertThat(run("xenstore-read", "-p", "/a/b", "/a/x")).isEqualTo(new ToolRun("/a/b: 1\n",
                "xenstore-read: couldn't read path /a/x\n", 1));
        assertThat(run("xenstore-read", "a")).isEqualTo(new ToolRun("", "xenstore-read: couldn't read path a\n", 1));
    }

    @Test
    void lsIndentsPadsWithDotsAndTruncatesToTheWidth() {
        run("xenstore-write", "/a/b", "hello\\tworld\\x01\\\\", "/a/c", "x".repeat(100), "/d", "");
        assertThat(run("xenstore-ls", "-p", "/a").out()).isEqualTo(
                "b = \"hello\\tworld\\001\\\\\" . . . . . . . . . . . . . . . . . .  (n0)\n"
                        + "c = \"" + "x".repeat(71) + "\\...\"  (n0)\n");
        assertThat(run("xenstore-ls", "-f", "-p", "/a").out()).isEqualTo(
                "/a/b = \"hello\\tworld\\001\\\\\"   (n0)\n/a/c = \"" + "x".repeat(100) + "\"   (n0)\n");
        assertThat(run("xenstore-ls").out()).startsWith("tool = \"\"\n xenstored = \"\"\na = \"\"\n b = ");
        // A 30-column terminal leaves 28; the C code measures the raw value (13 bytes for b) but prints it
        // escaped, so b is not cut; c keeps 28 - 8 - 1 bytes (as Debian's prints under `stty cols 30`).
        ToolRun narrow = ToolRun.jxen(Map.of("XENSTORED_PATH", socket.toString()), 30, "xenstore-ls", "/a");
        assertThat(narrow.out()).isEqualTo("b = \"hello\\tworld\\001\\\\\"\nc = \"" + "x".repeat(19) + "\\...\"\n");
        assertThat(run("xenstore-ls", "/nope")).isEqualTo(new ToolRun("",
                "xenstore-ls: xs_directory (/nope): No such file or directory\n", 1));
    }

    @Test
    void listExistsAndRm() {
        run("xenstore-write", "/a/b", "1", "/d", "");
        assertThat(run("xenstore-list", "-p", "/")).isEqualTo(new ToolRun("//tool\n//a\n//d\n", "", 0));
        assertThat(run("xenstore-list", "/a", "/d")).isEqualTo(new ToolRun("b\n", "", 0));
        assertThat(run("xenstore-list", "/a/b/c")).isEqualTo(new ToolRun("", "xenstore-list: could not list path /a/b/c\n", 1));
        assertThat(run("xenstore-exists", "/a", "/d").status()).isZero();
        assertThat(run("xenstore-exists", "/a", "/zz")).isEqualTo(new ToolRun("", "", 1));
        assertThat(run("xenstore-rm", "/zz/yy")).isEqualTo(new ToolRun("", "xenstore-rm: could not remove path /zz/yy\n", 1));
        assertThat(run("xenstore-rm", "/a/nothing")).isEqualTo(new ToolRun("", "", 0));
        run("xenstore-write", "/t/x/y", "", "/t/v", "keep");
        assertThat(run("xenstore-rm", "-t", "/t/x/y").status()).isZero();
        assertThat(run("xenstore-ls", "/t").out()).isEqualTo("v = \"keep\"\n");
    }

    @Test
    void chmodParsesLikeTheCTool() {
        run("xenstore-write", "/a/b/c", "1");
        assertThat(run("xenstore-chmod", "/a", "x1")).isEqualTo(new ToolRun("",
                "xenstore-chmod: Invalid permission specification: 'x'\n", 1));
        // r-1 is owner 0xffffffff: no domain, so ENOENT (as C xenstored 4.17), not a syntax error.
        assertThat(run("xenstore-chmod", "/a", "r-1")).isEqualTo(new ToolRun("",
                "xenstore-chmod: Error occurred setting permissions on '/a': No such file or directory\n", 1));
        assertThat(run("xenstore-chmod", "-u", "a/b", "r0")).isEqualTo(new ToolRun("",
                "xenstore-chmod: Error occurred setting permissions on 'a/b': No such file or directory\n", 1));
        assertThat(run("xenstore-chmod", "-r", "/a", "b0", "r5").status()).isZero();
        assertThat(run("xenstore-ls", "-f", "-p", "/a").out()).isEqualTo(
                "/a/b = \"\"   (b0,r5)\n/a/b/c = \"1\"   (b0,r5)\n");
        assertThat(run("xenstore-chmod", "-u", "/a/b/c", "n0").status()).isZero();
        assertThat(run("xenstore-ls", "-f", "-p", "/").out()).contains("/a = \"\"   (n0)\n/a/b = \"\"   (n0)\n/a/b/c = \"1\"   (n0)\n");
    }

    @Test
    void watchPrintsEventPathsAndStopsAfterN() {
        run("xenstore-write", "/a", "", "/d", "");
        assertThat(run("xenstore-watch", "-n", "2", "/a", "/d")).isEqualTo(new ToolRun("/a\n/d\n", "", 0));
        assertThat(run("xenstore-watch", "-n0", "/a")).isEqualTo(new ToolRun("", "", 0));
        assertThat(run("xenstore-watch", "-n", "1", "bad!")).isEqualTo(new ToolRun("",
                "xenstore-watch: Unable to add watch on bad!\n\n", 1));
    }

    @Test
    void multiKeyReadRetriesTheWholeTransactionOnConflict() throws IOException {
        MiniStore store = new MiniStore();
        try (FakeXenstored fake = new FakeXenstored(Files.createDirectories(dir.resolve("fake")), store)) {
            ToolRun.jxen(fake.socketPath(), "xenstore-write", "/a", "1", "/b", "2");
            store.conflictsToReport.set(2);
            int before = store.commits.get();
            // Output of failed attempts is discarded: the values appear once.
            assertThat(ToolRun.jxen(fake.socketPath(), "xenstore-read", "/a", "/b")).isEqualTo(new ToolRun("1\n2\n", "", 0));
            assertThat(store.commits.get() - before).isEqualTo(3);
        }
    }

    @Test
    void controlReportsUsageAndAnswers() {
        assertThat(run("xenstore-control")).isEqualTo(new ToolRun("", "Usage:\nxenstore-control <command> [<arg>...]\n", 2));
        assertThat(ToolRun.jxen(Map.of("XENSTORED_PATH", dir.resolve("none").toString()), -1, "xenstore-control", "help"))
                .isEqualTo(new ToolRun("", "Failed to contact Xenstored.\n", 1));
        assertThat(run("xenstore-control", "live-update", "-F")).isEqualTo(new ToolRun("", "Missing binary specification\n", 2));
        assertThat(run("xenstore-control", "live-update", "-t")).isEqualTo(new ToolRun("", "Missing timeout value\n", 2));
        assertThat(run("xenstore-control", "nonsense").err()).startsWith("Command not supported. Valid commands are:\n");
        ToolRun help = run("xenstore-control", "help");
        assertThat(help.status()).isZero();
        assertThat(help.out()).isNotEmpty().endsWith("\n");
    }
}
