package org.jxen.cli;

import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code jxen xl -H RUN ARGS} as its own process with its standard input a pipe: a test types on it as a user
 * would on {@code xl console}, and reads everything it printed so far.
 */
final class ConsoleProcess implements AutoCloseable {
    private final Process process;
    private final OutputStream keys;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final List<Thread> drains;

    ConsoleProcess(Path runDir, String... args) throws IOException {
        this(xl(runDir, args));
    }

    /** Any command: a test that needs xl under another program (a terminal's) passes it here. */
    ConsoleProcess(List<String> cmd) throws IOException {
        process = new ProcessBuilder(cmd).start();
        keys = process.getOutputStream();
        drains = List.of(drain(process.getInputStream(), out, "console-stdout"),
                drain(process.getErrorStream(), err, "console-stderr"));
    }

    /** The command line of {@code jxen xl -H RUN ARGS} in a JVM of its own on this test's class path. */
    static List<String> xl(Path runDir, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), JxenCommand.class.getName(), "xl", "-H", runDir.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static Thread drain(InputStream in, ByteArrayOutputStream to, String name) {
        return Thread.ofPlatform().daemon().name(name).start(() -> {
            byte[] buf = new byte[4096];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (to) {
                        to.write(buf, 0, n);
                    }
                }
            } catch (IOException e) {
                // the process is gone
            }
        });
    }

    /** Types {@code text} (UTF-8) on xl's standard input. */
    void type(String text) throws IOException {
        type(text.getBytes(StandardCharsets.UTF_8));
    }

    void type(byte... bytes) throws IOException {
        keys.write(bytes);
        keys.flush();
    }

    String out() {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    String err() {
        synchronized (err) {
            return err.toString(StandardCharsets.UTF_8);
        }
    }

    /** Waits until stdout holds {@code text} after the first {@code from} characters; returns where it ends. */
    int awaitOutput(int from, String text) {
        try {
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                    .failFast(() -> !process.isAlive() && out().indexOf(text, from) < 0)
                    .until(() -> out().indexOf(text, from) >= 0);
        } catch (org.awaitility.core.ConditionTimeoutException | org.awaitility.core.TerminalFailureException e) {
            throw new AssertionError("no " + quoted(text) + " after " + from + " in xl's stdout " + quoted(out())
                    + (process.isAlive() ? "" : " (xl exited " + process.exitValue() + ")") + "; stderr " + quoted(err()));
        }
        return out().indexOf(text, from) + text.length();
    }

    private static String quoted(String s) {
        return "\"" + s.replace("\n", "\\n").replace("\r", "\\r") + "\"";
    }

    /** Waits for xl to exit by itself and gives its status. */
    int awaitExit() throws InterruptedException {
        if (!process.waitFor(60, TimeUnit.SECONDS)) throw new AssertionError("xl did not exit; stdout: " + out());
        // What it printed last is still being read: the pipes end with the process.
        for (Thread t : drains) t.join(10_000);
        return process.exitValue();
    }

    boolean alive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
