package org.jxen.toolstack;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The default bridge of a {@code jxen host}, as a Xen dom0's network configuration provides one: {@code xenbr0}
 * is created (and brought up) when no such interface exists, optionally with an uplink port so that guests reach
 * the host's network, and removed again when the host stops; a bridge that was there already is left alone.
 * Needs CAP_NET_ADMIN: without it the host says so in one line and runs on (vifs then fail, the rest works).
 */
public final class HostBridge implements AutoCloseable {
    private final String name;
    private final List<String> undo = new ArrayList<>();

    private HostBridge(String name) {
        this.name = name;
    }

    /** Makes sure bridge {@code name} exists; {@code uplink} (or null) becomes a port of it. Reports on {@code log}. */
    public static HostBridge ensure(String name, String uplink, Consumer<String> log) {
        HostBridge b = new HostBridge(name);
        try {
            if (ip("link", "show", "dev", name) != 0) {
                check(ip("link", "add", "name", name, "type", "bridge"), "creating bridge " + name);
                b.undo.add(name);
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

    static int ip(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip"));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
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
                ip("link", "del", "dev", dev);
            } catch (IOException e) {
                // the host is stopping; nothing else to do
            }
        }
        undo.clear();
    }
}
