package org.jxen.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The machinery of {@link DocsTest} on documents written here for the purpose: what it takes from Markdown, how
 * it splits shell lines, and that a broken block fails with the document, the line and the compiler's or the
 * command's own message.
 */
@Timeout(300)
class DocsMachineryTest {
    @TempDir
    Path dir;

    private static DocBlocks doc(String name, String markdown) {
        return DocBlocks.parse(name, markdown.lines().toList());
    }

    @Test
    void blocksKnowTheirLineSectionLanguageAndDirectives() {
        DocBlocks d = doc("t.md", """
                # Title
                text
                ## Build it
                ```
                ./jxen demo
                ```
                <!-- docs-test: compile-only serves until stopped -->

                ```java
                int x = 1;
                ```
                ```text
                output
                ```
                """);
        assertThat(d.blocks()).hasSize(3);
        DocBlocks.Block sh = d.blocks().get(0);
        assertThat(sh.fenceLine()).isEqualTo(4);
        assertThat(sh.docLine(0)).isEqualTo(5);
        assertThat(sh.heading()).isEqualTo("Build it");
        assertThat(sh.isShell()).isTrue();
        DocBlocks.Block java = d.blocks().get(1);
        assertThat(java.isJava()).isTrue();
        assertThat(java.directives()).isEqualTo(Map.of("compile-only", "serves until stopped"));
        assertThat(d.blocks().get(2).isShell()).isFalse();
        assertThat(d.java()).containsExactly(java);
        assertThat(d.shell()).containsExactly(sh);
    }

    @Test
    void directivesAreCheckedWhereTheyStand() {
        assertThatThrownBy(() -> doc("t.md", "a\n<!-- docs-test: skip it -->\n```\nls\n```\n"))
                .hasMessageStartingWith("t.md:2: unknown docs-test directive 'skip'");
        assertThatThrownBy(() -> doc("t.md", "<!-- docs-test: parse-only why -->\nprose\n```\nls\n```\n"))
                .hasMessageStartingWith("t.md:1: docs-test directive [parse-only] is not followed by a code block");
        assertThatThrownBy(() -> doc("t.md", "<!-- docs-test: parse-only why -->\n```java\nint x;\n```\n"))
                .hasMessage("t.md:2: docs-test directive 'parse-only' does not apply to a ```java block");
        assertThatThrownBy(() -> doc("t.md", "<!-- docs-test: compile-only -->\n```java\nint x;\n```\n"))
                .hasMessageStartingWith("t.md:2: docs-test directive 'compile-only' needs a reason");
        assertThatThrownBy(() -> doc("t.md", "```java\nint x;\n"))
                .hasMessage("t.md:1: code block is never closed");
        assertThat(doc("t.md", "x\n<!-- docs-test: on -->\ny\n").docLevel()).containsKey("on");
    }

    @Test
    void shellLinesAreSplitAsAShellWould() {
        DocBlocks d = doc("t.md", """
                ```
                ./jxen xl -H /tmp/h block-attach g1 'format=raw, vdev=xvda' "a b"   # comment
                X=1 Y='2 3' ./jxen host --run-dir /tmp/h &
                ./jxen xenstored --socket /tmp/xs/socket [--trace /tmp/xs/trace]
                # only a comment

                printf 'a\\n' > g.cfg
                ./jxen xl \\
                  list
                cat > f <<EOF
                x $HOME
                EOF
                echo "$HOME" x#y
                ```
                """);
        List<ShellLine> ls = ShellLine.of(d.blocks().getFirst());
        assertThat(ls).extracting(ShellLine::line).containsExactly(2, 3, 4, 7, 8, 10, 13);

        ShellLine attach = ls.get(0);
        assertThat(attach.words()).containsExactly("./jxen", "xl", "-H", "/tmp/h", "block-attach", "g1",
                "format=raw, vdev=xvda", "a b");
        assertThat(attach.text()).isEqualTo("./jxen xl -H /tmp/h block-attach g1 'format=raw, vdev=xvda' \"a b\"");
        assertThat(attach.simple()).isTrue();
        assertThat(attach.isJxen()).isTrue();

        ShellLine host = ls.get(1);
        assertThat(host.env()).isEqualTo(Map.of("X", "1", "Y", "2 3"));
        assertThat(host.words()).containsExactly("./jxen", "host", "--run-dir", "/tmp/h");
        assertThat(host.background()).isTrue();
        assertThat(host.text()).isEqualTo("X=1 Y='2 3' ./jxen host --run-dir /tmp/h &");
        assertThat(host.code()).isEqualTo("X=1 Y='2 3' ./jxen host --run-dir /tmp/h");

        ShellLine xsd = ls.get(2);
        assertThat(xsd.jxenArgs()).containsExactly("xenstored", "--socket", "/tmp/xs/socket", "--trace", "/tmp/xs/trace");
        assertThat(xsd.jxenArgsWithoutOptional()).containsExactly("xenstored", "--socket", "/tmp/xs/socket");

        assertThat(ls.get(3).simple()).as("a redirection needs a shell").isFalse();
        assertThat(ls.get(4).jxenArgs()).containsExactly("xl", "list");
        assertThat(ls.get(5).simple()).isFalse();
        assertThat(ls.get(5).code()).isEqualTo("cat > f <<EOF\nx $HOME\nEOF");
        assertThat(ls.get(6).simple()).as("an expansion needs a shell").isFalse();
        assertThat(ls.get(6).words()).containsExactly("echo", "$HOME", "x#y");

        DocBlocks text = doc("t.md", "# t\n```\nd0.mem   a domain's memory\n```\n");
        assertThatThrownBy(() -> ShellLine.of(text.blocks().getFirst())).hasMessageStartingWith(
                "t.md:3: unterminated ' in: d0.mem   a domain's memory (in a shell block; a block of output or other"
                        + " text needs a language, e.g. ```text)");
    }

    @Test
    void aBlockThatDoesNotCompileIsReportedAtItsDocumentLine() {
        DocBlocks d = doc("broken.md", """
                ## Use it
                ```java
                XsClient xs = null;
                xs.writ("/a", "1");
                ```
                """);
        assertThatThrownBy(() -> JavaBlocks.compile(JavaBlocks.units(d, t -> t)))
                .hasMessageContaining("broken.md:4: error: cannot find symbol")
                .hasMessageContaining("xs.writ(\"/a\", \"1\");")
                .hasMessageContaining("(in the ```java block at broken.md:2, section \"Use it\", compiled as a snippet");
    }

    @Test
    void aSnippetThatThrowsIsReportedWithTheDocumentLinesOfItsStack() throws Exception {
        DocBlocks d = doc("throws.md", """
                ```java
                int n = 2;
                List<Runnable> work = List.of(() -> {
                    throw new IllegalStateException("from line 4");
                });
                work.forEach(Runnable::run);
                ```
                """);
        List<JavaBlocks.Unit> units = JavaBlocks.units(d, t -> t);
        JavaBlocks.Compiled c = JavaBlocks.compile(units);
        assertThatThrownBy(() -> JavaBlocks.run(c, units.getFirst(), 60))
                .hasMessageStartingWith("throws.md:4: the ```java block at throws.md:1 threw "
                        + "java.lang.IllegalStateException: from line 4")
                .hasMessageContaining("\n    at throws.md:4    throw new IllegalStateException(\"from line 4\");")
                .hasMessageContaining("\n    at throws.md:6    work.forEach(Runnable::run);")
                .hasCauseInstanceOf(IllegalStateException.class);
    }

    @Test
    void theBlocksOfADocumentAreOneCompilationAndAGroupIsItsOwn() throws Exception {
        DocBlocks d = doc("split.md", """
                A class in one block, shown without its imports:
                ```java
                public class Greeter {
                    static String greet(String who) { return String.join(" ", List.of("hello", who)); }
                }
                ```
                and the snippet that uses it, with an import of its own:
                ```java
                import java.time.Duration;
                System.out.println(Greeter.greet("dom0") + " " + Duration.ofSeconds(1));
                ```
                A first version that a later block replaces:
                <!-- docs-test: group first-try -->
                ```java
                public class Greeter {
                    public static void main(String[] args) { System.out.println("first try"); }
                }
                ```
                """);
        List<JavaBlocks.Unit> units = JavaBlocks.units(d, t -> t);
        assertThat(units).extracting(JavaBlocks.Unit::snippet).containsExactly(false, true, false);
        assertThat(units).extracting(JavaBlocks.Unit::group).containsExactly("", "", "first-try");
        JavaBlocks.Compiled c = JavaBlocks.compile(units);
        try (JavaBlocks.CapturedOut out = new JavaBlocks.CapturedOut()) {
            assertThat(JavaBlocks.run(c, units.get(0), 60)).as("a class without main: nothing to run").isFalse();
            assertThat(JavaBlocks.run(c, units.get(1), 60)).isTrue();
            assertThat(JavaBlocks.run(c, units.get(2), 60)).isTrue();
            assertThat(out.text()).isEqualTo("hello dom0 PT1S\nfirst try\n");
        }
    }

    @Test
    void aJxenLineThatDoesNotParseIsReportedWithPicoclisMessage() {
        DocBlocks d = doc("cli.md", """
                ```
                ./jxen xl -H /tmp/h list
                ./jxen xl -H /tmp/h lsit
                ./jxen xenstored --socket /tmp/s [--trace]
                ./jxen bench block --seconds two
                ```
                """);
        assertThat(ShellSession.parseErrors(d)).containsExactly(
                "cli.md:3: `./jxen xl -H /tmp/h lsit` does not parse: Unmatched argument at index 3: 'lsit'",
                "cli.md:4: `./jxen xenstored --socket /tmp/s [--trace]` does not parse: Missing required parameter"
                        + " for option '--trace' (FILE)",
                "cli.md:5: `./jxen bench block --seconds two` does not parse: Invalid value for option '--seconds':"
                        + " 'two' is not a double");
    }

    @Test
    void aFailingCommandIsReportedWithItsLineStatusAndOutput() throws Exception {
        DocBlocks d = doc("run.md", """
                ```
                printf 'name = "g"\\n' > g.cfg
                ./jxen xl -H /tmp/nohost create g.cfg      # there is no host
                ```
                """);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ShellSession s = new ShellSession(dir, List.of(), List.of(), new PrintStream(log, true, StandardCharsets.UTF_8));
        try (s) {
            assertThatThrownBy(() -> s.run(d))
                    .hasMessageStartingWith("run.md:3: `./jxen xl -H /tmp/nohost create g.cfg` exited 1 (expected 0)\n"
                            + "--- stderr ---\n")
                    .hasMessageContaining("cannot reach the jxen host at " + dir.resolve("tmp/nohost/toolstack.sock"));
        }
        assertThat(s.report()).containsExactly("run.md:2 ran: `printf 'name = \"g\"\\n' > g.cfg` (exit 0)");
        assertThat(Files.readString(dir.resolve("work/g.cfg"))).isEqualTo("name = \"g\"\n");
    }

    @Test
    void anExpectationThatIsNotMetNamesTheLine() throws Exception {
        DocBlocks d = doc("expect.md", """
                ```
                ./jxen xl --help
                ```
                """);
        List<ShellSession.Expect> expects = List.of(new ShellSession.Expect("expect.md", "./jxen xl --help", 0, false,
                (r, s) -> assertThat(r.out()).contains("no such text")));
        try (ShellSession s = new ShellSession(dir, expects, List.of(), System.out)) {
            assertThatThrownBy(() -> s.run(d))
                    .hasMessageStartingWith("expect.md:2: `./jxen xl --help` did not do what the document says: ")
                    .hasMessageContaining("no such text")
                    .hasMessageContaining("--- its stdout ---\nUsage xl [-vfNtT] [-H DIR] <subcommand> [args]");
        }
    }

    @Test
    void parseOnlyBlocksAndNotRunLinesStartNothing() throws Exception {
        DocBlocks d = doc("quiet.md", """
                <!-- docs-test: parse-only a daemon for the reader, not for the build -->
                ```
                ./jxen xenstored --socket /tmp/xs/socket
                ```
                ```
                ./jxen bench hypervisor --seconds 60
                ./mvnw verify
                ```
                """);
        List<ShellSession.NotRun> notRun = List.of(new ShellSession.NotRun("./jxen bench ", "a benchmark"),
                new ShellSession.NotRun("./mvnw ", "the build"));
        try (ShellSession s = new ShellSession(dir, List.of(), notRun, System.out)) {
            s.run(d);
            assertThat(s.report()).containsExactly(
                    "quiet.md:3 parsed only: `./jxen xenstored --socket /tmp/xs/socket`: a daemon for the reader, not"
                            + " for the build",
                    "quiet.md:6 parsed only: `./jxen bench hypervisor --seconds 60`: a benchmark",
                    "quiet.md:7 not run: `./mvnw verify`: the build");
        }
        assertThat(dir.resolve("tmp/xs")).doesNotExist();
    }

    @Test
    void aBlockTheReaderSavesIsSavedWhereTheTextSays() {
        DocBlocks d = doc("save.md", """
                Save this as `/tmp/m/A.java`:
                <!-- docs-test: file /tmp/m/A.java -->
                ```java
                class A {}
                ```
                """);
        assertThat(d.java().getFirst().file()).isEqualTo("/tmp/m/A.java");
        assertThat(d.java().getFirst().lead()).isEqualTo("Save this as `/tmp/m/A.java`:\n");
        assertThatThrownBy(() -> doc("t.md", "Save it:\n<!-- docs-test: file /tmp/m/A.java -->\n```java\nclass A {}\n```\n"))
                .hasMessageStartingWith("t.md:3: the block is saved as /tmp/m/A.java (docs-test directive 'file'), but"
                        + " the text before it does not say so");
        assertThatThrownBy(() -> doc("t.md", "`a.sh`\n<!-- docs-test: file a.sh -->\n```\nls\n```\n"))
                .hasMessage("t.md:3: docs-test directive 'file' does not apply to a ``` block");
        assertThatThrownBy(() -> doc("t.md", "x\n<!-- docs-test: file -->\n```text\nx\n```\n"))
                .hasMessageStartingWith("t.md:3: docs-test directive 'file' needs a path");
    }

    /** What a tutorial does: a class typed in, built into a jar of modules with the launcher's javac and jar. */
    @Test
    void savedClassesAreBuiltWithTheLaunchersJdkAgainstTargetJxenJar() throws Exception {
        DocBlocks d = doc("jar.md", """
                In `/tmp/m/src/Hi.java`:
                <!-- docs-test: file /tmp/m/src/Hi.java -->
                ```java
                package org.example.hi;

                import org.jxen.kernel.Kernel;
                import org.jxen.kernel.KernelModule;

                public final class Hi implements KernelModule {
                    public String name() { return "hi"; }
                    public void init(Kernel k) { k.printk("hi"); }
                    public void exit(Kernel k) {}
                }
                ```
                ```
                ./jxen javac -cp target/jxen.jar -d /tmp/m/classes /tmp/m/src/Hi.java
                mkdir -p /tmp/m/classes/META-INF/services
                echo org.example.hi.Hi > /tmp/m/classes/META-INF/services/org.jxen.kernel.KernelModule
                ./jxen jar cf /tmp/m/hi.jar -C /tmp/m/classes .
                ```
                and `/tmp/m/g.cfg`:
                <!-- docs-test: file /tmp/m/g.cfg -->
                ```text
                kernel = "/tmp/m/hi.jar"
                ```
                """);
        assertThat(ShellSession.parseErrors(d)).isEmpty();
        try (ShellSession s = new ShellSession(dir, List.of(), List.of(), System.out)) {
            s.run(d);
            assertThat(s.report()).containsExactly(
                    "jar.md:3 saved as /tmp/m/src/Hi.java (the ```java block)",
                    "jar.md:16 ran: `./jxen javac -cp target/jxen.jar -d /tmp/m/classes /tmp/m/src/Hi.java` (exit 0)",
                    "jar.md:17 ran: `mkdir -p /tmp/m/classes/META-INF/services` (exit 0)",
                    "jar.md:18 ran: `echo org.example.hi.Hi > /tmp/m/classes/META-INF/services/org.jxen.kernel.KernelModule`"
                            + " (exit 0)",
                    "jar.md:19 ran: `./jxen jar cf /tmp/m/hi.jar -C /tmp/m/classes .` (exit 0)",
                    "jar.md:23 saved as /tmp/m/g.cfg (the ```text block)");
        }
        assertThat(dir.resolve("tmp/m/g.cfg")).as("/tmp/ in a saved file is the scratch's, as in commands")
                .hasContent("kernel = \"" + dir.resolve("tmp/m/hi.jar") + "\"\n");
        try (var jar = new java.util.jar.JarFile(dir.resolve("tmp/m/hi.jar").toFile())) {
            assertThat(jar.getEntry("org/example/hi/Hi.class")).isNotNull();
            assertThat(new String(jar.getInputStream(jar.getEntry("META-INF/services/org.jxen.kernel.KernelModule"))
                    .readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("org.example.hi.Hi\n");
        }
    }

    /** The stand-in's launcher tools are the real launcher's: a document may not use words the script lacks. */
    @Test
    void theLauncherScriptHasTheToolsOfTheStandIn() throws Exception {
        String script = Files.readString(DocsTest.projectRoot().resolve("jxen"));
        for (String tool : ShellSession.LAUNCHER_TOOLS) {
            assertThat(script).as("the jxen script dispatches `./jxen " + tool + "` to its JDK's " + tool)
                    .containsPattern("(?m)^\\s*(?:[\\w-]+\\|)*" + tool + "(?:\\|[\\w-]+)*\\)");
        }
    }

    @Test
    void theReadmeTheTutorialAndTheDocsThatOptInAreChecked() throws Exception {
        Files.createDirectories(dir.resolve("docs"));
        Files.writeString(dir.resolve("README.md"), "# r\n");
        Files.writeString(dir.resolve("docs/host.md"), "# not checked\n");
        Files.writeString(dir.resolve("docs/rings.md"), "# checked\n<!-- docs-test: on -->\n");
        assertThat(DocsTest.documents(dir)).containsExactly(dir.resolve("README.md"), dir.resolve("docs/rings.md"));
        Files.writeString(dir.resolve("docs/tutorial.md"), "# always checked\n");
        assertThat(DocsTest.documents(dir)).containsExactly(dir.resolve("README.md"), dir.resolve("docs/tutorial.md"),
                dir.resolve("docs/rings.md"));
    }
}
