package org.jxen.xenstored;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstored.engine.Connection;
import org.jxen.xenstored.engine.XenStoreEngine;

/**
 * CONTROL {@code live-update} as C xenstored's (the command sequence {@code xenstore-control live-update}
 * sends): {@code -f FILE} names the new build (a jar, or {@code -} for the one installed), {@code -c CMDLINE}
 * extra daemon arguments, {@code -s [-t T] [-F]} starts, {@code -a} aborts. Starting answers BUSY while a
 * socket client has a transaction open (unless {@code -F}), else OK; once the OK is out, the daemon writes a
 * snapshot of its whole state (the live-update dump: nodes, domains, every guest connection with its watches
 * and transactions), records the new build in {@code STATE/live-update}, and exits with
 * {@link #EXIT_LIVE_UPDATE}, on which its supervisor starts the new build on that state at once. Guests keep
 * their rings; dom0's clients reconnect.
 */
final class LiveUpdater implements XenStoreEngine.LiveUpdate {
    private static final Logger LOG = System.getLogger("jxen.xenstored");
    /** The status a daemon exits with to be restarted with the build named in {@code STATE/live-update}. */
    static final int EXIT_LIVE_UPDATE = 75;
    static final String REQUEST_FILE = "live-update";

    private final XenStoredServer server;
    private final Path stateDir;
    private String binary;
    private String cmdline = "";
    private boolean started;

    LiveUpdater(XenStoredServer server, Path stateDir) {
        this.server = server;
        this.stateDir = stateDir;
    }

    @Override
    public byte[] run(Connection c, List<String> args) throws XenStoreException {
        if (args.isEmpty()) return text("Missing live-update option");
        switch (args.getFirst()) {
            case "-a" -> {
                binary = null;
                cmdline = "";
                return Payloads.OK;
            }
            case "-f" -> {
                if (args.size() != 2) return text("Missing file");
                String f = args.get(1);
                if (!f.equals("-") && !Files.isReadable(Path.of(f))) return text("File " + f + " not found");
                binary = f;
                return Payloads.OK;
            }
            case "-c" -> {
                if (args.size() != 2) return text("Missing command line");
                cmdline = args.get(1);
                return Payloads.OK;
            }
            case "-s" -> {
                if (binary == null) return text("No live-update binary set");
                boolean force = args.contains("-F");
                XenStoreEngine e = server.engineForLoop();
                if (!force && e.volatileTransactions() > 0) return text("BUSY");
                if (!started) {
                    started = true;
                    // After this round's replies (the OK included) have left.
                    server.loop().onIdle(this::restart);
                }
                return Payloads.OK;
            }
            default -> {
                return text("Unknown live-update option " + args.getFirst());
            }
        }
    }

    private boolean done;

    private void restart() {
        if (done) return;
        done = true;
        try {
            server.engineForLoop().snapshotState();
            Files.writeString(stateDir.resolve(REQUEST_FILE), "binary=" + binary + "\ncmdline=" + cmdline + "\n");
        } catch (IOException e) {
            LOG.log(Level.ERROR, "xenstored: live update failed writing its state: {0}; carrying on", e.getMessage());
            done = false;
            started = false;
            return;
        }
        LOG.log(Level.INFO, "xenstored: live update: state saved, exiting for the new build ({0})", binary);
        System.err.println("jxen xenstored: live update: state saved in " + stateDir + ", restarting with " + binary);
        System.err.flush();
        Runtime.getRuntime().halt(EXIT_LIVE_UPDATE);
    }

    private static byte[] text(String s) {
        return Payloads.raw(s);
    }
}
