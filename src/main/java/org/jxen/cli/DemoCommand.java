package org.jxen.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Callable;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstored.XenStoredServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jxen demo}: starts a xenstored on a private socket and walks through a short session between the
 * toolstack (dom0, over the Unix socket) and a guest (domain 1, in-process): the layout a toolstack writes,
 * permissions, a watch, a conflicting transaction, and Debian's own xenstore-ls reading our store.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start a xenstored and run a short scripted XenStore session against it.")
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--run-dir", paramLabel = "DIR", description = "Where to put the socket (default: a temp dir).")
    Path runDir;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        Path dir = runDir != null ? Files.createDirectories(runDir) : Files.createTempDirectory("jxen-demo");
        Path socket = dir.resolve("socket");
        try (XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(socket, null));
             XsClient dom0 = new XsClient(UnixSocketChannel.connect(socket));
             XsClient guest = new XsClient(server.connectInProcess(1))) {
            out.println("xenstored listening on " + socket + "\n");
            session(dom0, guest);
            debianView(socket);
        }
        out.println("\ndone.");
        return 0;
    }

    private void session(XsClient dom0, XsClient guest) throws IOException, InterruptedException {
        step("toolstack creates domain 1's home, owned by the guest, readable by dom0 only");
        dom0.transaction(tx -> {
            // Permissions first: nodes created below inherit them.
            tx.mkdir("/local/domain/1");
            tx.setPerms("/local/domain/1", XsPerms.of(new XsPerm(1, false, false)));
            tx.write("/local/domain/1/name", "guest1");
            tx.write("/local/domain/1/domid", "1");
            tx.write("/local/domain/0/backend/vbd/1/51712/state", "1");
            return null;
        });
        say("dom0", "ls -p /local/domain/1 ->  " + dom0.getPerms("/local/domain/1"));

        LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
        dom0.watch("/local/domain/1/device", "fe", (path, token) -> events.add(path + " [" + token + "]"));
        say("dom0", "watch /local/domain/1/device fe -> first event " + events.poll(5, TimeUnit.SECONDS));

        step("the guest works relative to its home and cannot read the backend's nodes");
        guest.write("device/vbd/51712/state", "1");
        say("dom1", "write device/vbd/51712/state 1 -> OK");
        say("dom0", "event " + events.poll(5, TimeUnit.SECONDS));
        say("dom1", "read name -> " + guest.readString("name"));
        try {
            guest.read("/local/domain/0/backend/vbd/1/51712/state");
        } catch (XenStoreException e) {
            say("dom1", "read /local/domain/0/backend/vbd/1/51712/state -> " + e.error());
        }

        step("transactions: the guest's commit conflicts with the toolstack's write and is retried");
        int[] attempts = {0};
        guest.transaction(tx -> {
            String state = tx.readString("device/vbd/51712/state");
            if (attempts[0]++ == 0) {
                dom0.write("/local/domain/1/device/vbd/51712/state", "3");
                say("dom0", "write .../state 3 (outside the guest's transaction)");
            }
            tx.write("device/vbd/51712/ring-ref", "8");
            tx.write("device/vbd/51712/state", state.equals("3") ? "4" : "3");
            return null;
        });
        say("dom1", "transaction committed after " + attempts[0] + " attempts (first: EAGAIN)");
        say("dom1", "read device/vbd/51712/state -> " + guest.readString("device/vbd/51712/state"));
        say("dom0", "events " + drain(events));
    }

    private void debianView(Path socket) throws IOException, InterruptedException {
        Path ls = Path.of("/usr/bin/xenstore-ls");
        if (!Files.isExecutable(ls)) {
            step("(Debian's xenstore-utils not installed: skipping the xenstore-ls view)");
            return;
        }
        step("Debian's own xenstore-ls -f -p against our socket");
        ProcessBuilder pb = new ProcessBuilder(ls.toString(), "-f", "-p").redirectErrorStream(true);
        pb.environment().put("XENSTORED_PATH", socket.toString());
        Process p = pb.start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        text.lines().forEach(l -> out.println("   " + l));
    }

    private static String drain(LinkedBlockingQueue<String> q) throws InterruptedException {
        StringBuilder sb = new StringBuilder();
        String e;
        while ((e = q.poll(200, TimeUnit.MILLISECONDS)) != null) sb.append(sb.isEmpty() ? "" : ", ").append(e);
        return sb.toString();
    }

    private void step(String what) {
        out.println("\n== " + what);
    }

    private void say(String who, String what) {
        out.println("  " + who + "$ " + what);
    }
}
