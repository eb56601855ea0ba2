package org.jxen.toolstack;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jxen.xenstore.client.XsClient;

/**
 * The toolstack's side of {@code xl exec}: writes {@code /local/domain/<U>/data/exec/<n>/cmd} (argv, newline
 * separated; n from the counter {@code data/exec/next}, bumped in the same transaction, so numbers are never
 * reused), waits for the guest's {@code status}, reads the {@code output/<i>} and {@code error/<i>} chunks and
 * removes {@code <n>}. Nodes dom0 creates under the guest's {@code data} inherit its permissions (the guest owns
 * them), so the guest can write its answer. Works over any privileged XenStore connection.
 */
public final class GuestExecClient {
    private static final AtomicLong TOKENS = new AtomicLong();

    public record Result(int status, byte[] stdout, byte[] stderr) {
        public String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        public String err() {
            return new String(stderr, StandardCharsets.UTF_8);
        }
    }

    /**
     * The domain went away before the command's status came: destroyed, crashed, or saved or migrated (then the
     * command may go on in the domain's new copy, under the same number {@link #n} if it is free there).
     */
    public static final class DomainGone extends IOException {
        public final int domid;
        /** The command's number: {@code data/exec/<n>}. */
        public final String n;
        public final String command;

        DomainGone(int domid, String n, String command) {
            super("domain " + domid + " went away while running " + command);
            this.domid = domid;
            this.n = n;
            this.command = command;
        }
    }

    private GuestExecClient() {}

    /**
     * Runs argv in domain {@code domid} and waits up to {@code timeoutMs} (0: forever) for its status; fails
     * with {@link DomainGone} if the domain goes away, an IOException if the time runs out (the guest then kills the command and
     * its {@code data/exec/<n>} is removed).
     */
    public static Result run(XsClient xs, int domid, List<String> argv, long timeoutMs) throws IOException, InterruptedException {
        for (String a : argv) {
            if (a.indexOf('\n') >= 0 || a.indexOf('\0') >= 0) throw new IllegalArgumentException("argument with a newline or NUL: " + a);
        }
        if (argv.isEmpty()) throw new IllegalArgumentException("no command");
        String home = Libxl.home(domid);
        if (!xs.exists(home)) throw new IOException("domain " + domid + " does not exist");
        String dir = home + "/data/exec";
        String cmd = String.join("\n", argv);
        String base = xs.transaction(tx -> {
            long n = tx.exists(dir + "/next") ? Long.parseLong(tx.readString(dir + "/next").strip()) : 0;
            tx.write(dir + "/next", Long.toString(n + 1));
            tx.write(dir + "/" + n + "/cmd", cmd);
            return dir + "/" + n;
        });
        return await(xs, domid, base.substring(dir.length() + 1), argv.get(0), timeoutMs);
    }

    /**
     * Waits for command {@code n} of domain {@code domid} (already written, by this client or by a restored guest
     * that goes on with it) as {@link #run} does, reads its result and removes its node.
     */
    public static Result await(XsClient xs, int domid, String n, String command, long timeoutMs)
            throws IOException, InterruptedException {
        String home = Libxl.home(domid);
        String base = home + "/data/exec/" + n;
        LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
        String token = "xl-exec-" + ProcessHandle.current().pid() + "-" + TOKENS.incrementAndGet();
        xs.watch(base + "/status", token, (p, t) -> events.add(p));
        try {
            long deadline = timeoutMs <= 0 ? Long.MAX_VALUE : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (!xs.exists(base + "/status")) {
                if (!xs.exists(home)) throw new DomainGone(domid, n, command);
                if (System.nanoTime() > deadline) throw timedOut(xs, domid, base, command, timeoutMs, events);
                events.poll(500, TimeUnit.MILLISECONDS); // also re-checks the domain now and then
            }
            int status;
            try {
                status = Integer.parseInt(xs.readString(base + "/status").strip());
            } catch (NumberFormatException e) {
                status = 255;
            }
            Result r = new Result(status, chunks(xs, base + "/output"), chunks(xs, base + "/error"));
            xs.rm(base);
            return r;
        } finally {
            xs.unwatch(base + "/status", token);
        }
    }

    /** How long a timed-out command's guest has to confirm that it killed it. */
    static final long KILL_GRACE_MS = 5000;

    /**
     * --timeout ran out: ask the guest to kill the command ({@code <n>/kill}), wait a little for its status (the
     * guest's confirmation), and remove {@code <n>} either way, so nothing of it stays in the store.
     */
    private static IOException timedOut(XsClient xs, int domid, String base, String cmd, long timeoutMs,
            LinkedBlockingQueue<String> events) throws IOException, InterruptedException {
        xs.write(base + "/kill", "xl exec --timeout");
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(KILL_GRACE_MS);
        boolean confirmed;
        while (!(confirmed = xs.exists(base + "/status")) && System.nanoTime() < until && xs.exists(Libxl.home(domid))) {
            events.poll(100, TimeUnit.MILLISECONDS);
        }
        xs.rm(base);
        String after = timeoutMs % 1000 == 0 ? timeoutMs / 1000 + " s" : timeoutMs + " ms";
        String node = base.substring(base.indexOf("/data/") + 1);
        return new IOException(cmd + " timed out after " + after + (confirmed
                ? "; killed it in domain " + domid + " and removed " + node
                : "; domain " + domid + " did not confirm killing it (is its exec module loaded?); removed " + node));
    }

    private static byte[] chunks(XsClient xs, String dir) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        if (!xs.exists(dir)) return b.toByteArray();
        List<String> names = xs.directory(dir).stream().filter(n -> n.matches("[0-9]+"))
                .sorted(Comparator.comparingInt(Integer::parseInt)).toList();
        for (String n : names) b.write(xs.read(dir + "/" + n));
        return b.toByteArray();
    }
}
