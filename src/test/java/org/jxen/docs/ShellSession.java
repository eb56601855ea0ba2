package org.jxen.docs;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Pattern;
import org.jxen.cli.JxenCommand;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import picocli.CommandLine;

/**
 * The shell blocks of one document run in order as one terminal session would run them, in a scratch
 * directory: {@code /tmp/NAME} in a command is {@code <scratch>/tmp/NAME}; the working directory is
 * {@code <scratch>/work}, where {@code ./jxen} is a stand-in for the launcher script that runs
 * {@link JxenCommand} on the test class path (the real script would first build the jar), and
 * {@code target/jxen.jar} a stand-in for the jar it builds (a manifest whose Class-Path is jxen's classes and
 * libraries, which is what a module compiled against it needs). {@code export} and {@code cd} carry over to later
 * lines and blocks. How a line is run:
 * <ul>
 *   <li>A block with a {@code file PATH} directive (a class the reader types in, a config) is saved as PATH, where
 *       the session has got to in the document, as the reader would save it ({@code /tmp/} in it moved too).</li>
 *   <li>{@code ./jxen javac} and {@code ./jxen jar} ({@link #LAUNCHER_TOOLS}) are the launcher's own: the JDK's
 *       tools, of the JDK the tests run on; they are not the CLI's, so they are not parsed with it.</li>
 *   <li>Every {@code ./jxen} line is first parsed by the CLI's own picocli model (with and without its
 *       {@code [optional]} words); a line that does not parse fails before anything runs.</li>
 *   <li>{@code ./jxen host} and {@code ./jxen xenstored} are daemons, in the foreground or with {@code &}: each
 *       is started as its own process, and the session goes on once it is ready (xenstored: its "listening
 *       on" line; a host: its {@code toolstack.sock}, and "booted NAME" for each {@code --guest}). A later
 *       daemon on the same run directory or socket first stops it, as the reader would stop the one in the
 *       foreground; the rest are stopped with SIGTERM at the end of the document, and must exit then.</li>
 *   <li>Followers ({@link #FOLLOWERS}: commands that wait for events as long as they are not stopped) and
 *       lines ending in {@code &} run in the background; the session goes on once a jxen follower has printed
 *       its first line. At the end of the document they are stopped, unless their expectation says they end
 *       by themselves, which they must then do, with status 0.</li>
 *   <li>Any other line runs in the foreground and must exit 0: a simple {@code ./jxen} line as its own
 *       process, with the words as its arguments; any other line with {@code /bin/sh -c}.</li>
 *   <li>Lines that cannot run here are matched by {@link NotRun} rules with the reason, and only parsed
 *       (jxen lines); a block preceded by {@code <!-- docs-test: parse-only REASON -->} likewise.</li>
 * </ul>
 * A failure names the document line and the command, with its exit status and the end of its output.
 */
final class ShellSession implements AutoCloseable {

    /**
     * The launcher's words that are not the CLI's ({@code ./jxen javac ...}): the tools of the JDK jxen runs on,
     * for building a jar of modules against {@code target/jxen.jar}. The stand-in does what the real script does
     * (DocsMachineryTest checks that the script has them).
     */
    static final List<String> LAUNCHER_TOOLS = List.of("javac", "jar");

    /** Commands that wait for events until stopped, and why they are followers. */
    static final Map<String, String> FOLLOWERS = Map.of(
            "xl console", "follows the guest's console until the guest dies",
            "xenstore-watch", "prints watch events until it has seen -n of them, or forever");

    /**
     * What a line must do beyond the default (exit 0; for a follower, a first line of output).
     *
     * @param line         the command as written in the document, without its comment
     * @param exit         the status it must exit with (foreground lines)
     * @param endsByItself for a follower: it ends on its own before the end of the document, with status 0
     */
    record Expect(String doc, String line, int exit, boolean endsByItself, Check check) {}

    /** A check of one run; for a daemon it gets the run that SIGTERM ended. */
    @FunctionalInterface
    interface Check {
        void verify(Run run, ShellSession session) throws Exception;
    }

    /** What a command did. */
    record Run(ShellLine line, int code, String out, String err, boolean endedByItself) {
        String describe() {
            return describe("");
        }

        /** Where, what, how it ended ({@code note} after the status, e.g. "(expected 0)"), and its output. */
        String describe(String note) {
            return line.where() + ": `" + line.text() + "` " + (code < 0 ? "was still running" : "exited " + code)
                    + (note.isEmpty() ? "" : " " + note) + "\n--- stderr ---\n" + tail(err)
                    + "\n--- stdout ---\n" + tail(out);
        }
    }

    /** Lines that are parsed but not run: the command text starts with {@code prefix}. */
    record NotRun(String prefix, String reason) {}

    private static final Pattern TMP = Pattern.compile("(?<![\\w./-])/tmp/");
    private static final long FOREGROUND_LIMIT_S = 300;
    private static final long READY_LIMIT_S = 180;
    private static final String SHORT_LIVED_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

    private final Path tmp;
    private final Path logs;
    private Path cwd;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final List<Expect> expects;
    private final List<NotRun> notRun;
    private final PrintStream log;
    private final Map<String, Proc> daemons = new LinkedHashMap<>();
    private final List<Proc> followers = new ArrayList<>();
    private final List<Proc> all = new ArrayList<>();
    private final List<String> report = new ArrayList<>();
    private int counter;
    /** Every command of the document runs in this network namespace (null where none can be made): see OwnNetns. */
    private final org.jxen.testing.OwnNetns.Shared netns = org.jxen.testing.OwnNetns.Shared.create("doc");

    /** A process the session started, with its output files. */
    private record Proc(ShellLine line, Process process, Path out, Path err, Expect expect, List<ProcessHandle> kids) {}

    ShellSession(Path scratch, List<Expect> expects, List<NotRun> notRun, PrintStream log) throws IOException {
        this.tmp = Files.createDirectories(scratch.resolve("tmp"));
        this.logs = Files.createDirectories(scratch.resolve("logs"));
        this.cwd = Files.createDirectories(scratch.resolve("work"));
        this.expects = expects;
        this.notRun = notRun;
        this.log = log;
        env.putAll(System.getenv());
        for (String v : List.of("XENSTORED_PATH", "XENSTORED_RUNDIR", "JXEN_RUN_DIR", "JXEN_JAVA_OPTS")) env.remove(v);
        env.put("PATH", cwd + File.pathSeparator + env.getOrDefault("PATH", "/usr/bin:/bin"));
        Path shim = cwd.resolve("jxen");
        Path bin = Path.of(System.getProperty("java.home"), "bin");
        Files.writeString(shim, "#!/bin/sh\n# The test's stand-in for ./jxen: the CLI on the test class path.\n"
                + "case \"${1:-}\" in\n  " + String.join("|", LAUNCHER_TOOLS) + ") tool=\"$1\"; shift; exec "
                + quote(bin.toString()) + "/\"$tool\" \"$@\" ;;\nesac\nexec "
                + quote(bin.resolve("java").toString())
                + " --enable-native-access=ALL-UNNAMED $JXEN_JAVA_OPTS -cp " + quote(System.getProperty("java.class.path"))
                + " " + JxenCommand.class.getName() + " \"$@\"\n");
        Files.setPosixFilePermissions(shim, PosixFilePermissions.fromString("rwxr-xr-x"));
        standInJar(Files.createDirectories(cwd.resolve("target")).resolve("jxen.jar"));
    }

    /**
     * target/jxen.jar as code compiled against it sees it: jxen's classes and its libraries, here by the manifest's
     * Class-Path (javac follows it) naming the test class path without the tests' own classes.
     */
    private static void standInJar(Path jar) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, JxenCommand.class.getName());
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(e).toAbsolutePath();
            if (e.isEmpty() || p.endsWith("test-classes") || !Files.exists(p)) continue;
            entries.add(p.toUri().getRawPath());
        }
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, String.join(" ", entries));
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), m)) {
            out.flush();
        }
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** The scratch path for a path as the document writes it ({@code /tmp/h} becomes {@code <scratch>/tmp/h}). */
    Path path(String docPath) {
        return Path.of(subst(docPath));
    }

    String subst(String s) {
        return TMP.matcher(s).replaceAll(Matcher.quoteReplacement(tmp + "/"));
    }

    /** What each line did: ran, started, parsed only (and why). */
    List<String> report() {
        return report;
    }

    /** Parses a jxen line with the CLI's picocli model; null if it parses. */
    static String parseError(List<String> args) {
        try {
            JxenCommand.commandLine().parseArgs(args.toArray(String[]::new));
            return null;
        } catch (CommandLine.ParameterException e) {
            return e.getMessage();
        }
    }

    /** Every jxen line of {@code doc} parses (in both forms when it has optional words). */
    static List<String> parseErrors(DocBlocks doc) {
        List<String> errors = new ArrayList<>();
        for (DocBlocks.Block b : doc.shell()) {
            for (ShellLine l : ShellLine.of(b)) {
                String e = parseProblem(l);
                if (e != null) errors.add(e);
            }
        }
        return errors;
    }

    private static String parseProblem(ShellLine l) {
        if (!l.isJxen() || isLauncherTool(l)) return null;
        if (!l.simple()) return null; // expansions: only a shell knows its words; such a line is run, not parsed
        String e = parseError(l.jxenArgs());
        if (e == null && !l.wordsWithoutOptional().equals(l.words())) {
            e = parseError(l.jxenArgsWithoutOptional());
            if (e != null) e = "(without its [optional] words) " + e;
        }
        return e == null ? null : l.where() + ": `" + l.text() + "` does not parse: " + e;
    }

    /** Runs the document's shell blocks; then stops what is still running and checks how it ended. */
    void run(DocBlocks doc) throws Exception {
        for (DocBlocks.Block b : doc.blocks()) {
            if (b.file() != null) {
                save(b);
                continue;
            }
            if (!b.isShell()) continue;
            String parseOnly = b.directives().get("parse-only");
            for (ShellLine l : ShellLine.of(b)) {
                String problem = parseProblem(l);
                if (problem != null) throw new AssertionError(problem);
                String reason = parseOnly != null ? parseOnly : notRunReason(l);
                if (reason != null) {
                    report.add(l.where() + (l.isJxen() ? " parsed only" : " not run") + ": `" + l.text() + "`: "
                            + reason);
                    continue;
                }
                line(l);
            }
        }
        finish();
    }

    /**
     * A block the reader saves as a file: its text at its path (relative to the session's directory), with
     * {@code /tmp/} paths in it moved to the scratch directory as in commands (a config naming a jar).
     */
    private void save(DocBlocks.Block b) throws IOException {
        Path p = cwd.resolve(subst(b.file()));
        Files.createDirectories(p.toAbsolutePath().getParent());
        Files.writeString(p, subst(b.text()));
        report.add(b.where() + " saved as " + b.file() + " (the ```" + b.lang() + " block)");
    }

    private String notRunReason(ShellLine l) {
        for (NotRun n : notRun) if (l.text().startsWith(n.prefix())) return n.reason();
        return null;
    }

    private Expect expect(ShellLine l) {
        for (Expect e : expects) if (e.doc().equals(l.doc()) && e.line().equals(l.text())) return e;
        return null;
    }

    private void line(ShellLine l) throws Exception {
        Expect exp = expect(l);
        if (l.simple() && l.command().equals("export")) {
            for (String a : l.words().subList(1, l.words().size())) {
                int eq = a.indexOf('=');
                if (eq < 0) continue;
                env.put(a.substring(0, eq), subst(a.substring(eq + 1)));
            }
            report.add(l.where() + " set: `" + l.text() + "`");
            return;
        }
        if (l.simple() && l.command().equals("cd")) {
            if (l.words().size() != 2) throw new AssertionError(l.where() + ": `" + l.text() + "`: cd takes a directory");
            cwd = cwd.resolve(subst(l.words().get(1)));
            report.add(l.where() + " changed directory: `" + l.text() + "`");
            return;
        }
        if (l.isJxen() && l.simple() && isDaemon(l)) {
            startDaemon(l, exp);
            return;
        }
        String follows = l.isJxen() && l.simple() ? follower(l.jxenArgs()) : null;
        if (follows != null || l.background()) {
            Proc p = start(l, exp);
            followers.add(p);
            if (l.isJxen()) awaitFirstLine(p);
            report.add(l.where() + " started in the background" + (follows != null ? " (" + follows + ")" : "")
                    + ": `" + l.text() + "`");
            return;
        }
        Proc p = start(l, exp);
        if (!p.process().waitFor(FOREGROUND_LIMIT_S, TimeUnit.SECONDS)) {
            kill(p);
            throw new AssertionError(l.where() + ": `" + l.text() + "` did not finish within " + FOREGROUND_LIMIT_S
                    + " s\n" + result(p, false).describe());
        }
        Run r = result(p, true);
        int want = exp == null ? 0 : exp.exit();
        if (r.code() != want) throw new AssertionError(r.describe("(expected " + want + ")"));
        verify(exp, r);
        report.add(l.where() + " ran: `" + l.text() + "` (exit " + r.code()
                + (exp != null && exp.check() != null ? ", output checked" : "") + ")");
    }

    private void verify(Expect exp, Run r) throws Exception {
        if (exp == null || exp.check() == null) return;
        try {
            exp.check().verify(r, this);
        } catch (AssertionError e) {
            throw new AssertionError(r.line().where() + ": `" + r.line().text() + "` did not do what the document says: "
                    + e.getMessage() + "\n--- its stderr ---\n" + tail(r.err())
                    + "\n--- its stdout ---\n" + tail(r.out()), e);
        }
    }

    /** The follower rule that matches these jxen arguments, or null. */
    static String follower(List<String> args) {
        if (args.isEmpty()) return null;
        if (args.getFirst().equals("xl") && args.contains("console")) return FOLLOWERS.get("xl console");
        if (args.getFirst().equals("xenstore-watch")
                || args.getFirst().equals("xenstore") && args.size() > 1 && args.get(1).equals("watch")) {
            return FOLLOWERS.get("xenstore-watch");
        }
        return null;
    }

    /** {@code ./jxen javac ...}: a tool of the launcher's JDK, not a command of the CLI. */
    static boolean isLauncherTool(ShellLine l) {
        return l.isJxen() && !l.jxenArgs().isEmpty() && LAUNCHER_TOOLS.contains(l.jxenArgs().getFirst());
    }

    static boolean isDaemon(ShellLine l) {
        List<String> a = l.jxenArgs();
        return !a.isEmpty() && (a.getFirst().equals("host") || a.getFirst().equals("xenstored"));
    }

    private static String option(List<String> args, String name) {
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals(name) && i + 1 < args.size()) return args.get(i + 1);
            if (args.get(i).startsWith(name + "=")) return args.get(i).substring(name.length() + 1);
        }
        return null;
    }

    private void startDaemon(ShellLine l, Expect exp) throws Exception {
        List<String> args = l.jxenArgs().stream().map(this::subst).toList();
        String key;
        Path readyFile = null;
        List<String> ready = new ArrayList<>();
        if (args.getFirst().equals("host")) {
            String runDir = option(args, "--run-dir");
            if (runDir == null) throw new AssertionError(l.where() + ": `" + l.text() + "`: no --run-dir");
            key = "run dir " + cwd.resolve(runDir).normalize();
            readyFile = cwd.resolve(runDir).resolve("toolstack.sock");
            for (int i = 0; i < args.size(); i++) {
                if (args.get(i).equals("--guest") && i + 1 < args.size()) {
                    ready.add("booted " + args.get(i + 1).replaceFirst(":inproc$", "") + " as domain");
                }
            }
        } else {
            String socket = option(args, "--socket");
            if (socket == null) socket = l.env().containsKey("XENSTORED_PATH") ? subst(l.env().get("XENSTORED_PATH"))
                    : env.get("XENSTORED_PATH");
            if (socket == null) throw new AssertionError(l.where() + ": `" + l.text() + "`: a xenstored in a test"
                    + " needs --socket or XENSTORED_PATH (its default socket is the machine's)");
            key = "socket " + cwd.resolve(socket).normalize();
            ready.add("listening on");
        }
        Proc old = daemons.remove(key);
        if (old != null) {
            stop(old);
            report.add(l.where() + " stopped the daemon of " + old.line().where() + " first (same " + key + ")");
        }
        Proc p = start(l, exp);
        daemons.put(key, p);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_LIMIT_S);
        while (true) {
            String err = Files.readString(p.err(), StandardCharsets.UTF_8);
            if (ready.stream().allMatch(err::contains) && (readyFile == null || Files.exists(readyFile))) break;
            if (!p.process().isAlive()) {
                daemons.remove(key);
                throw new AssertionError(l.where() + ": the daemon `" + l.text() + "` ended before it was ready\n"
                        + result(p, true).describe());
            }
            if (System.nanoTime() > end) {
                throw new AssertionError(l.where() + ": the daemon `" + l.text() + "` was not ready within "
                        + READY_LIMIT_S + " s (waiting for " + (readyFile != null ? readyFile + " and " : "")
                        + "stderr lines with " + ready + ")\n" + result(p, false).describe());
            }
            Thread.sleep(50);
        }
        report.add(l.where() + " started as a daemon: `" + l.text() + "`");
    }

    private void awaitFirstLine(Proc p) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_LIMIT_S);
        while (!Files.readString(p.out(), StandardCharsets.UTF_8).contains("\n") && p.process().isAlive()) {
            if (System.nanoTime() > end) {
                throw new AssertionError(p.line().where() + ": `" + p.line().text() + "` printed nothing within "
                        + READY_LIMIT_S + " s\n" + result(p, false).describe());
            }
            Thread.sleep(50);
        }
    }

    private Proc start(ShellLine l, Expect exp) throws IOException {
        List<String> argv;
        boolean daemon = l.isJxen() && l.simple() && isDaemon(l);
        if (l.isJxen() && l.simple()) {
            argv = new ArrayList<>();
            argv.add(cwd.resolve("jxen").toString());
            for (String a : l.jxenArgs()) argv.add(subst(a));
        } else {
            argv = List.of("/bin/sh", "-c", subst(l.code()));
        }
        int n = ++counter;
        Path out = logs.resolve(n + ".out");
        Path err = logs.resolve(n + ".err");
        if (netns != null) argv = netns.wrap(argv); // a host's bridge xenbr0 is made there, not on the machine
        ProcessBuilder pb = new ProcessBuilder(argv).directory(cwd.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        Map<String, String> e = pb.environment();
        e.clear();
        e.putAll(env);
        l.env().forEach((k, v) -> e.put(k, subst(v)));
        if (!daemon) e.put("JXEN_JAVA_OPTS", SHORT_LIVED_JVM);
        Proc p = new Proc(l, pb.start(), out, err, exp, new ArrayList<>());
        all.add(p);
        return p;
    }

    private Run result(Proc p, boolean endedByItself) throws IOException {
        return new Run(p.line(), p.process().isAlive() ? -1 : p.process().exitValue(),
                Files.readString(p.out(), StandardCharsets.UTF_8), Files.readString(p.err(), StandardCharsets.UTF_8),
                endedByItself);
    }

    /** SIGTERM, as the reader's Ctrl-C or kill; it must end then. Its descendants (guest JVMs) go too. */
    private Run stop(Proc p) throws Exception {
        p.kids().addAll(p.process().descendants().toList());
        boolean ended = !p.process().isAlive();
        if (!ended) {
            p.process().destroy();
            if (!p.process().waitFor(60, TimeUnit.SECONDS)) {
                kill(p);
                throw new AssertionError(p.line().where() + ": `" + p.line().text() + "` did not end on SIGTERM\n"
                        + result(p, false).describe());
            }
        }
        for (ProcessHandle k : p.kids()) k.destroyForcibly();
        Run r = result(p, ended);
        verify(p.expect(), r);
        return r;
    }

    /** Followers first (those that end by themselves must have), then the daemons, last started first. */
    private void finish() throws Exception {
        for (Proc f : followers) {
            boolean byItself = f.expect() != null && f.expect().endsByItself();
            if (byItself) {
                if (!f.process().waitFor(120, TimeUnit.SECONDS)) {
                    kill(f);
                    throw new AssertionError(f.line().where() + ": `" + f.line().text()
                            + "` should have ended by itself by the end of the document\n" + result(f, false).describe());
                }
                Run r = result(f, true);
                if (r.code() != 0) throw new AssertionError(r.describe("(expected 0)"));
                verify(f.expect(), r);
            } else {
                Run r = stop(f);
                if (r.endedByItself() && r.code() != 0) throw new AssertionError(r.describe("(expected 0)"));
            }
        }
        List<Proc> ds = new ArrayList<>(daemons.values());
        daemons.clear();
        for (int i = ds.size() - 1; i >= 0; i--) {
            Run r = stop(ds.get(i));
            if (r.endedByItself()) throw new AssertionError(r.describe("before it was stopped (a daemon runs until then)"));
        }
    }

    private static void kill(Proc p) {
        p.kids().addAll(p.process().descendants().toList());
        p.process().destroyForcibly();
        for (ProcessHandle k : p.kids()) k.destroyForcibly();
        try {
            p.process().waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whatever is still running (after a failure) is killed, with its descendants. */
    @Override
    public void close() {
        for (int i = all.size() - 1; i >= 0; i--) {
            Proc p = all.get(i);
            if (p.process().isAlive() || p.process().descendants().findAny().isPresent()) kill(p);
        }
        if (netns != null) netns.close();
    }

    // ---- helpers for checks ----

    /**
     * Runs Debian's binary of the same name as our tool in {@code ours}, with the same arguments, environment and
     * directory, and asserts that it printed the same bytes and exited the same.
     */
    void sameAsDebian(Run ours) throws Exception {
        List<String> args = ours.line().jxenArgs();
        Path tool = Path.of("/usr/bin", args.getFirst());
        if (!Files.isExecutable(tool)) {
            throw new AssertionError(tool + " is missing: install Debian's xenstore-utils (apt-get install -y "
                    + "xenstore-utils), which the README's comparison needs");
        }
        List<String> argv = new ArrayList<>();
        argv.add(tool.toString());
        for (String a : args.subList(1, args.size())) argv.add(subst(a));
        ProcessBuilder pb = new ProcessBuilder(argv).directory(cwd.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> e = pb.environment();
        e.clear();
        e.putAll(env);
        ours.line().env().forEach((k, v) -> e.put(k, subst(v)));
        int n = ++counter;
        Path out = logs.resolve(n + ".debian.out");
        Path err = logs.resolve(n + ".debian.err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(tool + " did not finish");
        }
        String dout = Files.readString(out, StandardCharsets.UTF_8);
        String derr = Files.readString(err, StandardCharsets.UTF_8).replace(tool.toString() + ":", args.getFirst() + ":");
        if (!dout.equals(ours.out()) || !derr.equals(ours.err()) || p.exitValue() != ours.code()) {
            throw new AssertionError("Debian's " + args.getFirst() + " did otherwise: exit " + p.exitValue() + " (ours "
                    + ours.code() + ")\n--- Debian's stdout ---\n" + dout + "--- ours ---\n" + ours.out()
                    + "--- Debian's stderr ---\n" + derr + "--- ours ---\n" + ours.err());
        }
    }

    /** A client on a socket the document names (e.g. {@code /tmp/h/xenstored/socket}), privileged as dom0. */
    XsClient xenstore(String docSocket) throws IOException {
        return new XsClient(UnixSocketChannel.connect(path(docSocket)));
    }

    static String tail(String s) {
        int max = 4000;
        return s.length() <= max ? s : "[... " + (s.length() - max) + " chars ...]\n" + s.substring(s.length() - max);
    }
}
