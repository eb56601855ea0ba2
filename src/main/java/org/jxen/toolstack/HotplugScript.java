package org.jxen.toolstack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a device class's hotplug script the way libxl does (libxl_device.c device_hotplug): {@code script add}
 * or {@code script remove}, with {@code XENBUS_PATH} set to the backend directory, plus whatever else the
 * caller adds to the environment (jxen adds {@code XENSTORED_PATH} so the script's xenstore-write finds the
 * host's xenstored). Its output is kept aside, as libxl keeps it in its log, not on the user's terminal: a
 * failure is reported once, by the toolstack, with the script's hotplug-error (or its last line of output).
 */
final class HotplugScript {
    private final Path script;
    private final Map<String, String> env;

    HotplugScript(Path script, Map<String, String> env) {
        this.script = script;
        this.env = Map.copyOf(env);
    }

    /** A started script and the file its output goes to (deleted by {@link #close}). */
    record Running(Process process, Path output) implements AutoCloseable {
        /** The script's last non-blank line of output, or null. */
        String lastLine() {
            try {
                List<String> lines = Files.readAllLines(output);
                for (int i = lines.size() - 1; i >= 0; i--) {
                    String l = lines.get(i).strip();
                    if (!l.isEmpty()) return l;
                }
            } catch (IOException e) {
                // nothing to add to the report
            }
            return null;
        }

        @Override
        public void close() {
            try {
                Files.deleteIfExists(output);
            } catch (IOException e) {
                // a temporary file left behind
            }
        }
    }

    Running start(String action, String backendPath) throws IOException {
        return start(action, backendPath, Map.of());
    }

    /** With {@code more} in the environment as well (a vif's {@code vif} and {@code script}). */
    Running start(String action, String backendPath, Map<String, String> more) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(script.toString(), action);
        pb.environment().putAll(env);
        pb.environment().putAll(more);
        pb.environment().put("XENBUS_PATH", backendPath);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Path out = Files.createTempFile("jxen-hotplug-", ".log");
        pb.redirectOutput(out.toFile());
        pb.redirectErrorStream(true);
        try {
            return new Running(pb.start(), out);
        } catch (IOException e) {
            Files.deleteIfExists(out);
            throw e;
        }
    }

    /** Runs {@code action} to completion; the exit code, or -1 when it was killed after {@code timeoutMs}. */
    int run(String action, String backendPath, long timeoutMs) throws IOException, InterruptedException {
        return run(action, backendPath, Map.of(), timeoutMs);
    }

    int run(String action, String backendPath, Map<String, String> more, long timeoutMs)
            throws IOException, InterruptedException {
        try (Running r = start(action, backendPath, more)) {
            Process p = r.process();
            if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                return -1;
            }
            return p.exitValue();
        }
    }

    Path path() {
        return script;
    }
}
