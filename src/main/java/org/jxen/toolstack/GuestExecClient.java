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

    private GuestExecClient() {}

    /**
     * Runs argv in domain {@code domid} and waits up to {@code timeoutMs} (0: forever) for its status; fails
     * with an IOException if the domain goes away or the time runs out (the command is then left to the guest).
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
        LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
        String token = "xl-exec-" + ProcessHandle.current().pid() + "-" + TOKENS.incrementAndGet();
        xs.watch(base + "/status", token, (p, t) -> events.add(p));
        try {
            long deadline = timeoutMs <= 0 ? Long.MAX_VALUE : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (!xs.exists(base + "/status")) {
                if (!xs.exists(home)) throw new IOException("domain " + domid + " went away while running " + argv.get(0));
                if (System.nanoTime() > deadline) throw new IOException("no answer from domain " + domid + " within " + timeoutMs + " ms (is the exec module loaded?)");
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

    private static byte[] chunks(XsClient xs, String dir) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        if (!xs.exists(dir)) return b.toByteArray();
        List<String> names = xs.directory(dir).stream().filter(n -> n.matches("[0-9]+"))
                .sorted(Comparator.comparingInt(Integer::parseInt)).toList();
        for (String n : names) b.write(xs.read(dir + "/" + n));
        return b.toByteArray();
    }
}
