package org.jxen.toolstack;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a device class's hotplug script the way libxl does (libxl_device.c device_hotplug): {@code script add}
 * or {@code script remove}, with {@code XENBUS_PATH} set to the backend directory, plus whatever else the
 * caller adds to the environment (jxen adds {@code XENSTORED_PATH} so the script's xenstore-write finds the
 * host's xenstored). Output goes to this process's stderr, as libxl's goes to its log.
 */
final class HotplugScript {
    private final Path script;
    private final Map<String, String> env;

    HotplugScript(Path script, Map<String, String> env) {
        this.script = script;
        this.env = Map.copyOf(env);
    }

    Process start(String action, String backendPath) throws IOException {
        return start(action, backendPath, Map.of());
    }

    /** With {@code more} in the environment as well (a vif's {@code vif} and {@code script}). */
    Process start(String action, String backendPath, Map<String, String> more) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(script.toString(), action);
        pb.environment().putAll(env);
        pb.environment().putAll(more);
        pb.environment().put("XENBUS_PATH", backendPath);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.INHERIT);
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        return pb.start();
    }

    /** Runs {@code action} to completion; the exit code, or -1 when it was killed after {@code timeoutMs}. */
    int run(String action, String backendPath, long timeoutMs) throws IOException, InterruptedException {
        return run(action, backendPath, Map.of(), timeoutMs);
    }

    int run(String action, String backendPath, Map<String, String> more, long timeoutMs)
            throws IOException, InterruptedException {
        Process p = start(action, backendPath, more);
        if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
            p.destroyForcibly().waitFor();
            return -1;
        }
        return p.exitValue();
    }

    Path path() {
        return script;
    }
}
