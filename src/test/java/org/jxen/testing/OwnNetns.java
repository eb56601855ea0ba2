package org.jxen.testing;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Keeps a test's {@code jxen host} processes off the machine's interfaces: a host makes its bridge {@code xenbr0}
 * unless it is told {@code --bridge none}, so every test that starts one runs it in a network namespace of its own.
 * {@link #wrap} prefixes a command with {@code unshare --net}: the namespace is anonymous and goes when its last
 * process ends (the host and its guests), so nothing can be left behind, even by a host killed with SIGKILL.
 * {@code unshare} execs the command, so the process the test holds is the host itself (its pid, its signals).
 * Where namespaces cannot be made (not root), the command runs as it is: the host then cannot make its bridge
 * either, says so, and leaves the network alone.
 */
public final class OwnNetns {
    private static volatile Boolean available;

    private OwnNetns() {}

    /** Whether this user can make network namespaces ({@code unshare --net true} works). */
    public static boolean available() {
        Boolean a = available;
        if (a == null) {
            a = probe();
            available = a;
        }
        return a;
    }

    private static boolean probe() {
        try {
            Process p = new ProcessBuilder("unshare", "--net", "true").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * A named namespace for a group of processes that must share one (a document's host and its xl commands, whose
     * hotplug scripts run in dom0's namespace): made with {@code ip netns add}, removed by {@link #close}.
     */
    public static final class Shared implements AutoCloseable {
        private static final java.util.concurrent.atomic.AtomicInteger COUNT = new java.util.concurrent.atomic.AtomicInteger();
        private final String name;

        private Shared(String name) {
            this.name = name;
        }

        /** A new namespace, or null where none can be made (then commands run as they are). */
        public static Shared create(String tag) {
            if (!available()) return null;
            String name = "jxen-" + tag + "-" + ProcessHandle.current().pid() + "-" + COUNT.incrementAndGet();
            return run("ip", "netns", "add", name) ? new Shared(name) : null;
        }

        public String name() {
            return name;
        }

        /** {@code cmd} to run inside ({@code ip netns exec NAME}, which execs it: same process). */
        public List<String> wrap(List<String> cmd) {
            List<String> w = new ArrayList<>(List.of("ip", "netns", "exec", name));
            w.addAll(cmd);
            return w;
        }

        @Override
        public void close() {
            run("ip", "netns", "del", name);
        }
    }

    private static boolean run(String... argv) {
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    /** {@code cmd} to run in a new network namespace of its own (as it is where none can be made). */
    public static List<String> wrap(List<String> cmd) {
        if (!available()) return cmd;
        List<String> w = new ArrayList<>(List.of("unshare", "--net", "--"));
        w.addAll(cmd);
        return w;
    }
}
