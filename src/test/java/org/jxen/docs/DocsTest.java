package org.jxen.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jxen.docs.ShellSession.Expect;
import org.jxen.docs.ShellSession.NotRun;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every code block of the README, of {@code docs/tutorial.md} once it exists, and of any {@code docs/*.md} that
 * contains the line {@code <!-- docs-test: on -->}, compiled and run, so that the documents cannot drift from the
 * code. Per document (a dynamic container named after it):
 * <ol>
 *   <li><b>{@code ```java} blocks compile</b> in memory with javax.tools against the test class path
 *       ({@link JavaBlocks}): a block declaring a top-level type is a compilation unit as written (given the
 *       imports below when it has none of its own); any other block
 *       is a snippet of statements, wrapped in a method of a class of its own with its leading {@code import}
 *       lines, and on-demand imports of the common JDK packages and of every jxen package. All blocks of a
 *       document are one compilation (a class may be split over several blocks' classes).</li>
 *   <li><b>Each snippet, and each unit with a {@code main}, runs</b> in this JVM, with System.out captured;
 *       {@link #JAVA} says what it must print. {@code "/tmp/..."} paths in its text are moved to a scratch
 *       directory.</li>
 *   <li><b>Every {@code ./jxen} line of the shell blocks</b> (fences without a language, or {@code sh},
 *       {@code bash}, {@code shell}) <b>parses</b> with the CLI's picocli model.</li>
 *   <li><b>The shell blocks run</b>, in order, as one terminal session ({@link ShellSession}: daemons, followers
 *       and foreground commands, each with its exit status checked); {@link #SHELL} says what particular lines
 *       must print or do, and {@link #NOT_RUN} lists the lines that are only parsed, with the reason.</li>
 * </ol>
 * A document adds the directives below only where they are needed: HTML comments, which Markdown does not show,
 * on the lines just before a block (blank lines may come between):
 * <ul>
 *   <li>{@code <!-- docs-test: group NAME -->} (java): compile this block with the other blocks of group NAME
 *       instead of with the rest of the document, e.g. a first version of a class that a later block
 *       replaces.</li>
 *   <li>{@code <!-- docs-test: compile-only REASON -->} (java): compile, do not run.</li>
 *   <li>{@code <!-- docs-test: parse-only REASON -->} (shell): parse its jxen lines, run none of its lines.</li>
 *   <li>{@code <!-- docs-test: file PATH -->} (any block but a shell block): the reader saves it as PATH, which
 *       the text before it names; the shell session writes it there when it gets to it.</li>
 *   <li>{@code <!-- docs-test: on -->} anywhere in a {@code docs/*.md}: check this document too.</li>
 * </ul>
 * Blocks that are not code to run (output, config files) get a language such as {@code text}. A failure names
 * the document and line, and gives the compiler's or the command's own message. See docs/docs-tests.md.
 */
class DocsTest {
    @TempDir
    static Path scratch;

    /** What the java blocks must print (their stdout), by document and section heading. */
    record JavaExpect(String doc, String heading, JavaCheck check) {}

    @FunctionalInterface
    interface JavaCheck {
        void verify(String stdout) throws Exception;
    }

    static final List<JavaExpect> JAVA = List.of(
            // The guest's watch fires at once with the path as it was given (relative to its home), and its
            // transaction wrote where dom0 reads it; the first is printed by the watch thread, in either order.
            new JavaExpect("README.md", "In Java", out ->
                    assertThat(out.lines().sorted().toList()).containsExactly("1", "name")));

    /** Lines that are parsed and not run, and why. */
    static final List<NotRun> NOT_RUN = List.of(
            new NotRun("./mvnw ", "the build itself: this test runs inside `./mvnw verify`"),
            new NotRun("./jxen bench ", "a benchmark: it loads the machine for seconds to minutes (bench handshake"
                    + " boots up to 1000 guests) and its verdicts are timing targets; the benchmarks have their own"
                    + " tests in org.jxen.bench"));

    private static final String TUTORIAL = "docs/tutorial.md";
    private static final String HOSTNAME_HASH_256M = "sha256 of /etc/hostname's first 512 bytes on 256 MiB of zeros";

    /** What particular shell lines must do beyond exiting 0, by document and the line as written. */
    static final List<Expect> SHELL = List.of(
            line("./jxen demo", (r, s) -> assertThat(r.out()).contains("Hello world", "Done: the host is down")),
            new Expect("README.md", "./jxen xenstored --socket /tmp/xs/socket [--trace /tmp/xs/trace]", 0, false,
                    (r, s) -> {
                        // "foreground; SIGTERM removes the socket"
                        assertThat(r.code()).as("exit status on SIGTERM").isEqualTo(143);
                        assertThat(s.path("/tmp/xs/socket")).doesNotExist();
                        assertThat(Files.readString(s.path("/tmp/xs/trace"))).contains("WRITE", "/local/domain/1/name");
                    }),
            line("./jxen xenstore-write /local/domain/1/name guest1", (r, s) -> {
                assertThat(r.out() + r.err()).isEmpty();
                s.sameAsDebian(r);
            }),
            line("./jxen xenstore-ls -f -p", (r, s) -> {
                assertThat(r.out()).isEqualTo("""
                        /tool = ""   (n0)
                        /tool/xenstored = ""   (n0)
                        /local = ""   (n0)
                        /local/domain = ""   (n0)
                        /local/domain/1 = ""   (n0)
                        /local/domain/1/name = "guest1"   (n0)
                        """);
                s.sameAsDebian(r);
            }),
            line("./jxen xenstore-chmod -r /local/domain/1 b1 r0", (r, s) -> {
                assertThat(r.out() + r.err()).isEmpty();
                s.sameAsDebian(r);
                try (XsClient xs = s.xenstore("/tmp/xs/socket")) {
                    assertThat(xs.getPerms("/local/domain/1").toString()).isEqualTo("b1 r0");
                    assertThat(xs.getPerms("/local/domain/1/name").toString()).isEqualTo("b1 r0");
                }
            }),
            // -n 2: the event at registration, then it waits for a change that the block does not make.
            new Expect("README.md", "./jxen xenstore-watch -n 2 /local/domain/1", 0, false,
                    (r, s) -> assertThat(r.out()).isEqualTo("/local/domain/1\n")),
            line("./jxen xenstore-control quota", (r, s) -> assertThat(r.out()).isEqualTo("""
                    Quota settings:
                    nodes            :     1000 Nodes per domain
                    watches          :      128 Watches per domain
                    transactions     :       10 Transactions per domain
                    outstanding      :       20 Outstanding requests per domain
                    transaction-nodes:     1024 Max. number of accessed nodes per transaction
                    memory           :  2621440 Total Xenstore memory per domain (error level)
                    node-size        :     2048 Max. size of a node
                    path-max         :     2048 Max. length of a node path
                    permissions      :        5 Max. number of permissions per node

                    """)),
            new Expect("README.md", "./jxen host --run-dir /tmp/h --guest g1 --guest g2:inproc", 0, false,
                    (r, s) -> assertThat(r.code()).as("exit status on SIGTERM").isEqualTo(143)),
            line("XENSTORED_PATH=/tmp/h/xenstored/socket xenstore-ls -f -p", (r, s) -> assertThat(r.out())
                    .containsPattern("(?m)^/local/domain/1/name = \"g1\" ")
                    .containsPattern("(?m)^/local/domain/2/name = \"g2\" ")),
            line("XENSTORED_PATH=/tmp/h/xenstored/socket xenstore-write /local/domain/1/control/shutdown poweroff",
                    (r, s) -> {
                        // The guest powers off and the host reaps it; the in-process guest stays.
                        try (XsClient xs = s.xenstore("/tmp/h/xenstored/socket")) {
                            JavaBlocks.eventually(120, () -> assertThat(xs.exists("/local/domain/1"))
                                    .as("domain 1's home, after it was asked to power off").isFalse());
                            assertThat(xs.readString("/local/domain/2/name")).isEqualTo("g2");
                        }
                    }),
            new Expect("README.md", "./jxen host --run-dir /tmp/h &", 0, false,
                    (r, s) -> assertThat(r.code()).as("exit status on SIGTERM").isEqualTo(143)),
            line("./jxen xl -H /tmp/h create g1.cfg",
                    (r, s) -> assertThat(r.err()).startsWith("Parsing config from g1.cfg")),
            line("./jxen xl -H /tmp/h list", (r, s) -> assertThat(r.out())
                    .startsWith("Name                                        ID   Mem VCPUs\tState\tTime(s)\n")
                    .containsPattern("(?m)^Domain-0 +0 ")
                    .containsPattern("(?m)^g1 +1 +64 +1 ")),
            new Expect("README.md", "./jxen xl -H /tmp/h console g1", 0, true, (r, s) -> assertThat(r.out())
                    .startsWith("Booting jxen kernel on domain 1")
                    .contains("blkfront: xvda:", "xenbus: shutdown requested: poweroff", "reboot: Power down")),
            line("./jxen xl -H /tmp/h list -l g1", (r, s) -> assertThat(r.out())
                    .startsWith("[\n    {\n        \"domid\": 1,\n        \"config\": {\n            \"c_info\": {\n")
                    .contains("\"name\": \"g1\"", "\"max_memkb\": 65536,")),
            line("./jxen xl -H /tmp/h pause g1", (r, s) -> assertThat(r.out() + r.err()).isEmpty()),
            line("./jxen xl -H /tmp/h mem-set g1 48", (r, s) -> {
                try (XsClient xs = s.xenstore("/tmp/h/xenstored/socket")) {
                    assertThat(xs.readString("/local/domain/1/memory/target")).isEqualTo("49152");
                }
            }),
            line("./jxen xl -H /tmp/h help", (r, s) -> assertThat(r.out())
                    .startsWith("Usage xl [-vfNtT] [-H DIR] <subcommand> [args]\n\nxl full list of subcommands:\n\n")),
            line("./jxen xl -H /tmp/h shutdown -w g1", (r, s) -> assertThat(r.err())
                    .isEqualTo("Shutting down domain 1\nWaiting for 1 domains\nDomain 1 has been shut down, reason code 0\n")),
            line("./jxen xl -H /tmp/h device-attach g1 mydevice", (r, s) -> {
                try (XsClient xs = s.xenstore("/tmp/h/xenstored/socket")) {
                    assertThat(xs.readString("/local/domain/1/device/mydevice/0/backend"))
                            .isEqualTo("/local/domain/0/backend/mydevice/1/0");
                }
            }),
            line("./jxen xl -H /tmp/h block-list g1", (r, s) -> {
                List<String> rows = r.out().lines().toList();
                assertThat(rows).hasSize(2);
                assertThat(rows.get(0)).startsWith("Vdev  BE  handle state evt-ch ring-ref BE-path");
                assertThat(rows.get(1).trim().split(" +")).startsWith("51712", "0", "1")
                        .endsWith("/local/domain/0/backend/vbd/1/51712");
            }),
            line("./jxen xl -H /tmp/h exec g1 -- dd if=/etc/hostname of=/dev/xvda bs=512 count=1 conv=notrunc",
                    (r, s) -> assertThat(r.err()).containsPattern("(?m)^[01]\\+[01] records out$")),
            line("./jxen xl -H /tmp/h exec g1 -- sha256sum /dev/xvda", (r, s) ->
                    assertThat(r.out()).as(HOSTNAME_HASH_256M).isEqualTo(hostnameOnZeros(256 << 20) + "  /dev/xvda\n")),
            line("./jxen xl -H /tmp/h exec g1 -- blkbench /dev/xvda --rw randread --bs 4k --qd 32 --seconds 2",
                    (r, s) -> assertThat(r.out()).matches(Pattern.compile(
                            "blkbench: /dev/xvda rw=randread bs=4096 qd=32 .* ops=[1-9][0-9]* .* errors=0\n"))),
            line("./jxen xl -H /tmp/h block-detach g1 xvda", (r, s) -> {
                try (XsClient xs = s.xenstore("/tmp/h/xenstored/socket")) {
                    JavaBlocks.eventually(60, () -> assertThat(xs.exists("/local/domain/1/device/vbd/51712"))
                            .as("the frontend's vbd directory").isFalse());
                }
            }),
            line("./jxen xl -H /tmp/h dmesg", (r, s) -> assertThat(r.out())
                    .contains("toolstack: created domain 1 (g1, own process)")),

            // docs/tutorial.md: the reader's echo pair, built into a jar of their own and run on a host.
            tutorial("./jxen jar cf /tmp/echo/echo.jar -C /tmp/echo/classes .", (r, s) -> {
                try (var jar = new java.util.jar.JarFile(s.path("/tmp/echo/echo.jar").toFile())) {
                    assertThat(jar.stream().map(java.util.jar.JarEntry::getName)).contains(
                            "org/example/echo/EchoRing.class", "org/example/echo/EchoBack.class",
                            "org/example/echo/EchoFront.class", "META-INF/services/org.jxen.kernel.KernelModule");
                }
            }),
            new Expect(TUTORIAL, "./jxen host --run-dir /tmp/h --module-path /tmp/echo/echo.jar &", 0, false,
                    (r, s) -> assertThat(r.code()).as("exit status on SIGTERM").isEqualTo(143)),
            tutorial("./jxen xl -H /tmp/h exec 0 -- insmod echoback", (r, s) -> assertThat(r.out() + r.err()).isEmpty()),
            tutorial("./jxen xl -H /tmp/h exec g1 -- insmod echofront message=hello",
                    (r, s) -> assertThat(r.out() + r.err()).isEmpty()),
            tutorial("./jxen xl -H /tmp/h exec g1 -- lsmod", (r, s) -> assertThat(outputLines(r)).isEqualTo(shown(r))),
            // The reader's next line comes after the round trip (milliseconds); the test waits for it.
            tutorial("./jxen xl -H /tmp/h device-attach g1 echo",
                    (r, s) -> awaitConsoleLine(s, "/tmp/h", "g1", "echofront: response 1: \"HELLO\"")),
            tutorial("./jxen xl -H /tmp/h dmesg g1", (r, s) -> assertThat(outputLines(r)).isEqualTo(shown(r))),
            tutorial("./jxen xl -H /tmp/h exec g1 -- rmmod echofront", (r, s) -> {
                try (XsClient xs = s.xenstore("/tmp/h/xenstored/socket")) {
                    JavaBlocks.eventually(60, () -> {
                        assertThat(xs.readString("/local/domain/1/device/echo/0/state")).as("frontend").isEqualTo("6");
                        assertThat(xs.readString("/local/domain/0/backend/echo/1/0/state")).as("backend").isEqualTo("6");
                    });
                }
                awaitConsoleLine(s, "/tmp/h", "g1", "echofront: Goodbye world.");
            }),
            tutorial("./jxen xl -H /tmp/h exec g1 -- insmod echofront message=again",
                    (r, s) -> awaitConsoleLine(s, "/tmp/h", "g1", "echofront: response 1: \"AGAIN\"")),
            tutorial("./jxen xl -H /tmp/h dmesg", (r, s) -> assertThat(r.out().lines().toList()).containsSubsequence(
                    "echoback: Hello World!", "toolstack: created domain 1 (g1, own process)",
                    "echoback: request 1 from domain 1: \"hello\"", "/local/domain/0/backend/echo/1/0: prepare for reconnect",
                    "echoback: request 1 from domain 1: \"again\"")),
            // The diagram's lines that do not depend on how the two kernels' logs interleave: in the document's
            // drawing and in the demo's.
            tutorial("./jxen demo --module-path /tmp/echo/echo.jar --device echo --frontend echofront --backend echoback"
                    + " --until PING", (r, s) -> {
                List<String> key = List.of(
                        "xl device-attach 1 echo 0: libxl writes both directories in one transaction.",
                        "  frontend /local/domain/1/device/echo/0",
                        "  backend  /local/domain/0/backend/echo/1/0",
                        "      Toolstack              Hotplug           Backend (dom0)                  Frontend (dom1)",
                        "   fe/backend-id=0                                    |                               |",
                        "  be/frontend-id=1                                    |                               |",
                        "                                                  InitWait -------------------------->|",
                        "                                                      |<--------------------------Connected",
                        "                                                  Connected-------------------------->|",
                        "                                                      |                      response 1: \"PING\"",
                        "The frontend's request went over the shared ring; the backend's answer came back: \"PING\"."
                                + " Now an orderly closedown (xl device-detach):",
                        "  write be/state=5                                    |                               |",
                        "                                                      |<---------------------------Closed",
                        "  [dom1] echofront: Goodbye world.",
                        "  [dom0] echoback: Goodbye world.",
                        "Done: the host is down and its files are gone.");
                assertThat(shown(r)).as("the drawing in the document").containsSubsequence(key);
                assertThat(outputLines(r)).as("the demo's drawing").containsSubsequence(key);
                assertThat(r.out()).containsPattern("(?m)^ +\\| +write ring-ref=\\d+$")
                        .containsPattern("(?m)^ +\\| +event-channel=\\d+$")
                        .contains("dom0: echoback:", "request 1 from", "dom1: echofront:", "request 1: \"ping\"");
            }));

    /** docs/xenbus.md's module of your own, in a jar, loaded in dom0 and in a guest whose kernel image it is. */
    private static final List<Expect> XENBUS = List.of(
            new Expect("docs/xenbus.md", "./jxen host --run-dir /tmp/hm --module-path /tmp/hello/hello.jar &", 0, false,
                    (r, s) -> assertThat(r.code()).as("exit status on SIGTERM").isEqualTo(143)),
            new Expect("docs/xenbus.md", "./jxen xl -H /tmp/hm exec 0 -- insmod hellofront", 0, false,
                    (r, s) -> assertThat(r.out() + r.err()).isEmpty()),
            // xl exec returns once init has run; its line reaches the console log a moment later.
            new Expect("docs/xenbus.md", "./jxen xl -H /tmp/hm exec g2 -- insmod hellofront", 0, false,
                    (r, s) -> awaitConsoleLine(s, "/tmp/hm", "g2", "hellofront: Hello World!")),
            new Expect("docs/xenbus.md", "./jxen xl -H /tmp/hm exec g2 -- lsmod", 0, false,
                    (r, s) -> assertThat(r.out()).isEqualTo("""
                            Module                  Size  Used by
                            hellofront                 0  0
                            """)),
            new Expect("docs/xenbus.md", "./jxen xl -H /tmp/hm dmesg g2", 0, false,
                    (r, s) -> assertThat(r.out().lines().toList()).contains("hellofront: Hello World!")));

    private static Expect tutorial(String line, ShellSession.Check check) {
        return new Expect(TUTORIAL, line, 0, false, check);
    }

    /** What a command printed, line by line, without trailing blanks (which a document does not keep). */
    private static List<String> outputLines(ShellSession.Run r) {
        return r.out().lines().map(String::stripTrailing).toList();
    }

    /**
     * The lines of the {@code ```text} block that follows the shell block of {@code r}'s line: the output the
     * document shows for it, without trailing blanks.
     */
    static List<String> shown(ShellSession.Run r) {
        Path root = projectRoot();
        DocBlocks doc = DocBlocks.read(root, root.resolve(r.line().doc()));
        List<DocBlocks.Block> blocks = doc.blocks();
        for (int i = 0; i < blocks.size(); i++) {
            DocBlocks.Block b = blocks.get(i);
            if (!b.isShell() || r.line().line() <= b.fenceLine() || r.line().line() > b.fenceLine() + b.lines().size()) {
                continue;
            }
            if (i + 1 == blocks.size() || !blocks.get(i + 1).lang().equals("text")) {
                throw new AssertionError(r.line().where() + ": no ```text block follows its shell block to show its output");
            }
            return blocks.get(i + 1).lines().stream().map(String::stripTrailing).toList();
        }
        throw new AssertionError(r.line().where() + ": not in a shell block of " + doc.name());
    }

    /** Waits until {@code guest}'s console log (xenconsoled's file in the host's run directory) has {@code line}. */
    private static void awaitConsoleLine(ShellSession s, String runDir, String guest, String line) throws Exception {
        Path log = s.path(runDir + "/console/guest-" + guest + ".log");
        JavaBlocks.eventually(60, () -> assertThat(Files.exists(log) ? Files.readAllLines(log) : List.of())
                .as(guest + "'s console log").contains(line));
    }

    private static Expect line(String line, ShellSession.Check check) {
        return new Expect("README.md", line, 0, false, check);
    }

    /** The hash of a disk of {@code size} zero bytes with the first 512 bytes of /etc/hostname written at 0. */
    private static String hostnameOnZeros(long size) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] head;
        try (InputStream in = Files.newInputStream(Path.of("/etc/hostname"))) {
            head = in.readNBytes(512);
        }
        md.update(head);
        byte[] zeros = new byte[1 << 20];
        for (long left = size - head.length; left > 0; left -= Math.min(left, zeros.length)) {
            md.update(zeros, 0, (int) Math.min(left, zeros.length));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The project directory (the tests run in it). */
    static Path projectRoot() {
        Path p = Path.of("").toAbsolutePath();
        if (!Files.isRegularFile(p.resolve("pom.xml")) || !Files.isRegularFile(p.resolve("README.md"))) {
            throw new IllegalStateException("the tests run in the project directory, not " + p);
        }
        return p;
    }

    /** README.md, docs/tutorial.md if it exists, and the docs/*.md that say {@code <!-- docs-test: on -->}. */
    static List<Path> documents(Path root) throws IOException {
        List<Path> docs = new ArrayList<>();
        docs.add(root.resolve("README.md"));
        Path tutorial = root.resolve("docs/tutorial.md");
        if (Files.isRegularFile(tutorial)) docs.add(tutorial);
        Pattern on = Pattern.compile("(?m)^\\s*<!--\\s*docs-test:\\s*on\\s*-->\\s*$");
        try (Stream<Path> files = Files.list(root.resolve("docs"))) {
            for (Path f : files.filter(f -> f.toString().endsWith(".md")).sorted().toList()) {
                if (!f.equals(tutorial) && on.matcher(Files.readString(f)).find()) docs.add(f);
            }
        }
        return docs;
    }

    @TestFactory
    Stream<DynamicContainer> everyCheckedDocument() throws IOException {
        Path root = projectRoot();
        return documents(root).stream().map(f -> document(DocBlocks.read(root, f)));
    }

    /** The tests of one document; also used by {@link DocsMachineryTest} on documents made for the purpose. */
    static DynamicContainer document(DocBlocks doc) {
        return document(doc, scratch, JAVA, Stream.concat(SHELL.stream(), XENBUS.stream()).toList(), NOT_RUN);
    }

    static DynamicContainer document(DocBlocks doc, Path scratchRoot, List<JavaExpect> javaExpects,
                                     List<Expect> shellExpects, List<NotRun> notRun) {
        List<DynamicNode> tests = new ArrayList<>();
        tests.add(dynamicTest("the expectations in DocsTest name lines and sections of " + doc.name(),
                () -> checkExpectationsMatch(doc, javaExpects, shellExpects)));
        String tag = doc.name().replaceAll("[^A-Za-z0-9]", "_");
        if (!doc.java().isEmpty()) {
            Path javaScratch = scratchRoot.resolve(tag + "-java");
            List<JavaBlocks.Unit> units = JavaBlocks.units(doc,
                    text -> text.replace("\"/tmp/", "\"" + javaScratch + "/tmp/"));
            AtomicReference<Object> compiled = new AtomicReference<>();
            tests.add(dynamicTest("java blocks compile (" + units.size() + ")", () -> {
                try {
                    compiled.set(JavaBlocks.compile(units));
                } catch (AssertionError e) {
                    compiled.set(e);
                    throw e;
                }
            }));
            for (JavaBlocks.Unit u : units) {
                if (!u.runnable() || !(u.snippet() || u.source().contains("static void main("))) continue;
                String heading = u.block().heading();
                tests.add(dynamicTest("java block at " + u.block().where() + " (" + heading + ") runs",
                        () -> runJava(units, u, compiled, javaScratch, javaExpects)));
            }
        }
        if (!doc.shell().isEmpty()) {
            tests.add(dynamicTest("jxen command lines parse", () -> {
                List<String> errors = ShellSession.parseErrors(doc);
                if (!errors.isEmpty()) throw new AssertionError(String.join("\n", errors));
            }));
            tests.add(dynamicTest("shell blocks run as one session", () -> {
                Path dir = Files.createDirectories(scratchRoot.resolve(tag + "-sh"));
                ShellSession session = new ShellSession(dir, shellExpects, notRun, System.out);
                try (session) {
                    session.run(doc);
                } finally {
                    System.out.println(doc.name() + ", shell blocks:\n  " + String.join("\n  ", session.report()));
                }
            }));
        }
        return DynamicContainer.dynamicContainer(doc.name(), tests);
    }

    private static void runJava(List<JavaBlocks.Unit> units, JavaBlocks.Unit u, AtomicReference<Object> compiled,
                                Path javaScratch, List<JavaExpect> javaExpects) throws Exception {
        Object c = compiled.get();
        if (c == null) c = JavaBlocks.compile(units);
        if (!(c instanceof JavaBlocks.Compiled cu)) {
            throw new AssertionError(u.block().where() + ": not run: the document's java blocks do not compile",
                    (Throwable) c);
        }
        Files.createDirectories(javaScratch.resolve("tmp"));
        JavaExpect exp = javaExpects.stream().filter(e -> e.doc().equals(u.block().doc())
                && e.heading().equals(u.block().heading())).findFirst().orElse(null);
        try (JavaBlocks.CapturedOut out = new JavaBlocks.CapturedOut()) {
            JavaBlocks.run(cu, u, 180);
            if (exp != null) {
                try {
                    JavaBlocks.eventually(60, () -> exp.check().verify(out.text()));
                } catch (AssertionError e) {
                    throw new AssertionError(u.block().where() + ": the ```java block (section \"" + exp.heading()
                            + "\") did not print what it should: " + e.getMessage() + "\n--- it printed ---\n"
                            + out.text(), e);
                }
            }
        }
    }

    /** Each expectation matches exactly one line (or runnable java section) of its document: no drift. */
    private static void checkExpectationsMatch(DocBlocks doc, List<JavaExpect> javaExpects, List<Expect> shellExpects) {
        List<String> problems = new ArrayList<>();
        List<String> texts = doc.shell().stream().flatMap(b -> ShellLine.of(b).stream()).map(ShellLine::text).toList();
        for (Expect e : shellExpects) {
            if (!e.doc().equals(doc.name())) continue;
            long n = texts.stream().filter(e.line()::equals).count();
            if (n != 1) problems.add(doc.name() + " has " + n + " lines `" + e.line() + "` (DocsTest.SHELL expects one)");
        }
        for (JavaExpect e : javaExpects) {
            if (!e.doc().equals(doc.name())) continue;
            long n = doc.java().stream().filter(b -> b.heading().equals(e.heading())).count();
            if (n != 1) problems.add(doc.name() + " has " + n + " java blocks in section \"" + e.heading()
                    + "\" (DocsTest.JAVA expects one)");
        }
        if (!problems.isEmpty()) throw new AssertionError(String.join("\n", problems));
    }
}
