package org.jxen.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** What one {@code xl -H RUN ...} did: its exit status and its output, run in this JVM or as its own process. */
public record XlResult(int code, String out, String err) {

    /** Through picocli in this JVM, with stdout and stderr captured. */
    public static XlResult run(Path runDir, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = JxenCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new XlResult(cl.execute(argv(runDir, args).toArray(String[]::new)), out.toString(), err.toString());
    }

    /** {@code java ... JxenCommand xl -H RUN args} as its own process, in {@code cwd}. */
    public static XlResult process(Path runDir, Path cwd, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), JxenCommand.class.getName()));
        cmd.addAll(argv(runDir, args));
        Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).start();
        // Both pipes drained at once: a child blocked on a full stderr pipe would never finish its stdout. On a
        // thread of its own, not the common pool, which on a 2-CPU machine has one worker that another test
        // may be holding.
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                return e.toString();
            }
        }, task -> Thread.ofPlatform().daemon().name("xl-stderr").start(task));
        // A child that hangs is killed after two minutes, which ends the reads below (the test then fails on
        // its output) instead of hanging the build.
        CompletableFuture<Void> watchdog = CompletableFuture.runAsync(() -> { },
                CompletableFuture.delayedExecutor(2, TimeUnit.MINUTES)).thenRun(p::destroyForcibly);
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new XlResult(p.waitFor(), out, err.get(2, TimeUnit.MINUTES));
        } finally {
            watchdog.cancel(false);
        }
    }

    private static List<String> argv(Path runDir, String... args) {
        List<String> all = new ArrayList<>(List.of("xl", "-H", runDir.toString()));
        all.addAll(List.of(args));
        return all;
    }
}
