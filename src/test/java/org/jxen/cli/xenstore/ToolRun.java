package org.jxen.cli.xenstore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** What one tool run produced: stdout and stderr bytes (as text) and the exit status. */
record ToolRun(String out, String err, int status) {

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
        Process p = pb.start();
        p.getOutputStream().close();
        // Both streams are small; read them fully, then wait.
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(tool + " did not finish");
        }
        return new ToolRun(new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8), p.exitValue());
    }
}
