package org.jxen.cli.xenstore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** What one tool run produced: stdout and stderr bytes (as text) and the exit status. */
public record ToolRun(String out, String err, int status) {

    /** Runs our tool in-process, as argv[0] = {@code tool}, against the daemon at {@code socket}. */
    static ToolRun jxen(Path socket, String tool, String... args) {
        return jxen(Map.of("XENSTORED_PATH", socket.toString()), -1, tool, args);
    }

    static ToolRun jxen(Map<String, String> env, int columns, String tool, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        List<String> list = Arrays.asList(args);
        int status = tool.equals("xenstore-control")
                ? XenstoreControlTool.run(tool, list, env, o, e)
                : columns < 0 ? XenstoreClientTool.run(tool, list, env, o, e)
                : XenstoreClientTool.runWithColumns(tool, list, env, o, e, columns);
        return new ToolRun(out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), status);
    }

    /** Runs Debian's binary (found on PATH, so argv[0] is the bare name) against the daemon at {@code socket}. */
    static ToolRun debian(Path socket, String tool, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(tool);
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        pb.environment().put("XENSTORED_PATH", socket.toString());
        // Output goes to files so that a tool that never ends cannot block the test in a read.
        Path out = Files.createTempFile("xs-out", ".bin");
        Path err = Files.createTempFile("xs-err", ".bin");
        try {
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.redirectOutput(out.toFile());
            pb.redirectError(err.toFile());
            Process p = pb.start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(tool + " did not finish");
            }
            return new ToolRun(Files.readString(out, StandardCharsets.ISO_8859_1).transform(ToolRun::utf8),
                    Files.readString(err, StandardCharsets.ISO_8859_1).transform(ToolRun::utf8), p.exitValue());
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static String utf8(String latin1) {
        return new String(latin1.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }
}
