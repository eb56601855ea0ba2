package org.jxen.toolstack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The default bridge of a {@code jxen host}, as a Xen dom0's network configuration provides one: {@code xenbr0}
 * is created (and brought up) when no such interface exists, optionally with an uplink port so that guests reach
 * the host's network, and removed again when the host stops; a bridge that was there already is left alone.
 * A bridge it created is named, with its interface index, in the run directory's {@link #MARKER} until it is
 * removed, so that the next host of the directory removes it should this one die without doing so
 * ({@link Reaper}). Needs CAP_NET_ADMIN: without it the host says so in one line and runs on (vifs then fail,
 * the rest works).
 */
public final class HostBridge implements AutoCloseable {
    /**
     * In the run directory: "NAME IFINDEX NETNS" of the bridge this host created, while it exists; NETNS is the
     * network namespace's identity ({@code /proc/self/ns/net}), since indexes restart in every namespace.
     */
    static final String MARKER = "bridge";

    private final String name;
    private final Path marker;
    private final List<String> undo = new ArrayList<>();

    private HostBridge(String name, Path marker) {
        this.name = name;
        this.marker = marker;
    }

    /**
     * Makes sure bridge {@code name} exists; {@code uplink} (or null) becomes a port of it. Reports on {@code log}.
     * {@code runDir} gets the marker of a bridge made here.
     */
    public static HostBridge ensure(String name, String uplink, Path runDir, Consumer<String> log) {
        HostBridge b = new HostBridge(name, runDir.resolve(MARKER));
        try {
            if (ip("link", "show", "dev", name) != 0) {
                check(ip("link", "add", "name", name, "type", "bridge"), "creating bridge " + name);
                b.undo.add(name);
                int index = ifindex(name);
                if (index > 0) Files.writeString(b.marker, name + " " + index + " " + netns() + "\n");
                check(ip("link", "set", "dev", name, "up"), "bringing up " + name);
                log.accept("created bridge " + name + " (removed when the host stops)");
            }
            if (uplink != null) {
                check(ip("link", "set", "dev", uplink, "master", name, "up"), "adding uplink " + uplink + " to " + name);
                log.accept("uplink " + uplink + " is a port of " + name);
            }
        } catch (IOException e) {
            log.accept(e.getMessage() + " (needs CAP_NET_ADMIN); guests' vifs will fail, the rest works");
        }
        return b;
    }

    public String name() {
        return name;
    }

    private static void check(int rc, String what) throws IOException {
        if (rc != 0) throw new IOException(what + " failed (ip exit " + rc + ")");
    }

    /**
     * The interface index of {@code dev} in this process's network namespace, or -1 when there is no such device.
     * Asked of {@code ip} (netlink): {@code /sys/class/net} shows the namespace sysfs was mounted in, which under
     * {@code unshare --net} is not this one.
     */
    static int ifindex(String dev) {
        String line = ipOutput("-o", "link", "show", "dev", dev);
        int colon = line == null ? -1 : line.indexOf(':');
        try {
            return colon > 0 ? Integer.parseInt(line.substring(0, colon).strip()) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** This process's network namespace, as {@code /proc/self/ns/net} names it ({@code net:[4026531840]}). */
    static String netns() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "unknown";
        }
    }

    /** Whether {@code dev} is a bridge ({@code ip -d} names its kind). */
    private static boolean isBridge(String dev) {
        String line = ipOutput("-o", "-d", "link", "show", "dev", dev);
        return line != null && line.contains(" bridge ");
    }

    /** What {@code ip ARGS} printed, or null if it failed. */
    private static String ipOutput(String... args) {
        try {
            StringBuilder out = new StringBuilder();
            return run(out, args) == 0 ? out.toString() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * What the reaper does with a marker a host left: removes the bridge it names if the interface of that name is
     * still the same one (its index), then the marker. Null when there was nothing to remove.
     */
    static String reap(Path runDir) throws IOException {
        Path marker = runDir.resolve(MARKER);
        if (!Files.exists(marker)) return null;
        String[] f = Files.readString(marker).strip().split(" ");
        Files.delete(marker);
        if (f.length != 3 || !f[0].matches("[A-Za-z0-9_.-]{1,15}") || !f[2].equals(netns())) return null;
        int index;
        try {
            index = Integer.parseInt(f[1]);
        } catch (NumberFormatException e) {
            return null;
        }
        if (ifindex(f[0]) != index || !isBridge(f[0])) return null;
        int rc = ip("link", "del", "dev", f[0]);
        return rc == 0 ? "removed bridge " + f[0] + " that the previous host created"
                : "could not remove bridge " + f[0] + " that the previous host created (ip exit " + rc + ")";
    }

    static int ip(String... args) throws IOException {
        return run(null, args);
    }

    /** Runs {@code ip ARGS}; its standard output goes to {@code out} (null: discarded). Returns its exit status. */
    private static int run(StringBuilder out, String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip"));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD);
        if (out == null) pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        try {
            if (out != null) out.append(new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            return p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", argv));
        }
    }

    /** Removes the bridge if this host created it. */
    @Override
    public void close() {
        for (String dev : undo) {
            try {
                if (ip("link", "del", "dev", dev) == 0 || ifindex(dev) < 0) Files.deleteIfExists(marker);
            } catch (IOException e) {
                // the host is stopping; nothing else to do
            }
        }
        undo.clear();
    }
}
