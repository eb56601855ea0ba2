package org.jxen.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jxen.toolstack.ControlClient;
import org.jxen.toolstack.ControlException;
import org.jxen.toolstack.GuestExecClient;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.Libxl;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;

/**
 * What {@code xl exec} does when its domain went away before the command's status came (docs/migration.md): it asks
 * the host how the domain left ({@code departure DOMID} on the control socket). Saved, or migrated to
 * ADDRESS:PORT: one line naming where the command goes on, exit {@value #MOVED}. Migrated to a run directory on
 * this machine: one line, then it follows the command there (the domain of the same name, its command of the same
 * number and program), and ends as the command ends, with its output and status; again if it moves on. Any other
 * end (destroyed, crashed) is the plain error, exit 1.
 */
final class ExecFollower {
    /**
     * xl exec's exit status when its command moved with its domain and was not followed: its result is elsewhere
     * (sysexits.h's EX_TEMPFAIL, "try again later", there).
     */
    static final int MOVED = 75;
    /** How long the target's restored kernel may take to take up the command again. */
    static final long APPEAR_MS = TimeUnit.MINUTES.toMillis(2);
    /** A command followed across more moves than this is left where it is. */
    static final int MAX_HOPS = 16;

    /** The followed command's result, or null and the exit status. */
    record Outcome(int status, GuestExecClient.Result result) {}

    private ExecFollower() {}

    static Outcome after(XlCommand xl, GuestExecClient.DomainGone gone, long timeoutMs, PrintWriter err)
            throws IOException, InterruptedException {
        return after(xl.control(), gone, timeoutMs, err, 0);
    }

    private static Outcome after(ControlClient host, GuestExecClient.DomainGone gone, long timeoutMs, PrintWriter err,
            int hops) throws IOException, InterruptedException {
        String[] d;
        try {
            List<String> lines = host.call("departure " + gone.domid);
            d = lines.isEmpty() ? null : lines.getFirst().split("\t", 3);
        } catch (ControlException | IOException e) {
            d = null;
        }
        if (d == null || d.length != 3) throw gone; // destroyed or crashed: nothing goes on
        String name = d[1];
        String where = d[2];
        String node = "data/exec/" + gone.n;
        if (d[0].equals("saved")) {
            say(err, "xl exec: domain " + name + " saved to " + where + "; " + gone.command
                    + " continues in the domain restored from it, as " + node);
            return new Outcome(MOVED, null);
        }
        Path dir = Path.of(where);
        Path socket = dir.resolve(Host.XENSTORED_SOCKET);
        if (!dir.isAbsolute() || !Files.exists(socket) || hops >= MAX_HOPS) {
            say(err, "xl exec: domain " + name + " migrated to " + where + "; " + gone.command + " continues there as " + node);
            return new Outcome(MOVED, null);
        }
        say(err, "xl exec: domain " + name + " migrated to " + where + "; " + gone.command + " continues there as " + node
                + ", following it");
        try (XsClient xs = new XsClient(UnixSocketChannel.connect(socket))) {
            int domid = taken(xs, socket, name, gone);
            return new Outcome(0, GuestExecClient.await(xs, domid, gone.n, gone.command, timeoutMs));
        } catch (GuestExecClient.DomainGone again) {
            return after(ControlClient.forRunDir(dir), again, timeoutMs, err, hops + 1);
        } catch (IOException e) {
            say(err, "xl exec: cannot follow " + gone.command + " to " + where + ": " + e.getMessage());
            return new Outcome(MOVED, null);
        }
    }

    /**
     * The target's domain {@code name}, once its restored kernel took the command up again under the same number;
     * IOException if it does not within {@value #APPEAR_MS} ms or the number holds another command there.
     */
    private static int taken(XsClient xs, Path socket, String name, GuestExecClient.DomainGone gone)
            throws IOException, InterruptedException {
        Libxl lookup = Libxl.forXenstored(xs, socket, Map.of(), w -> { });
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(APPEAR_MS);
        while (true) {
            try {
                int domid = lookup.domid(name);
                String cmd = xs.readOrNull(Libxl.home(domid) + "/data/exec/" + gone.n + "/cmd");
                if (cmd != null) {
                    if (cmd.split("\n", 2)[0].equals(gone.command)) return domid;
                    throw new IOException("data/exec/" + gone.n + " there is another command; see the guest's log for its number");
                }
            } catch (IllegalArgumentException notYet) {
                // the domain is not there (yet)
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("it did not appear there within " + APPEAR_MS / 1000 + " s");
            }
            Thread.sleep(100);
        }
    }

    private static void say(PrintWriter err, String line) {
        err.println(line);
        err.flush();
    }
}
