package org.jxen.cli;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import org.jxen.xenstored.XenStoredServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jxen xenstored}: the XenStore daemon, in the foreground, until SIGTERM or SIGINT. */
@Command(name = "xenstored", mixinStandardHelpOptions = true,
        description = "Run the XenStore daemon on a Unix socket (clients there are privileged, as in Xen).")
public final class XenstoredCommand implements Callable<Integer> {
    @Option(names = "--socket", paramLabel = "PATH",
            description = "Socket path (default: $XENSTORED_PATH, else <run-dir>/socket).")
    Path socket;

    @Option(names = "--run-dir", paramLabel = "DIR",
            description = "Run directory (default: $XENSTORED_RUNDIR, else /var/run/xenstored).")
    Path runDir;

    @Option(names = "--trace", paramLabel = "FILE", description = "Write every request, reply and event, one per line.")
    Path trace;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Keep the store durable in DIR (journal and snapshot); recover from it at start.")
    Path stateDir;

    @Option(names = "--fsync", description = "With --state-dir: fsync the journal every loop round (survives a machine crash).")
    boolean fsync;

    @Option(names = "--journal-io", paramLabel = "mmap|write",
            description = "With --state-dir: how each loop round's batches reach the kernel: a copy into a shared mapping "
                    + "of the journal (default: no system call, the same durability), or one write(2).")
    String journalIo = "mmap"; // the default, here so that XenstoredArgs starts from it too

    @Option(names = "--snapshot-bytes", paramLabel = "N",
            description = "With --state-dir: fold the journal into a snapshot once it holds N bytes (default ${DEFAULT-VALUE}).")
    long snapshotBytes = 8_388_608L;

    @Option(names = "--dom0-devices", paramLabel = "SOCKET",
            description = "Serve guests' rings through the host's dom0 device socket (jxen host starts xenstored so).")
    Path dom0Devices;

    @Option(names = "--supervised", description = "Under a supervisor (jxen host): CONTROL live-update restarts the daemon.")
    boolean supervised;

    static Path defaultSocket(Path socket, Path runDir) {
        if (socket != null) return socket;
        String env = System.getenv("XENSTORED_PATH");
        if (runDir == null && env != null && !env.isEmpty()) return Path.of(env);
        if (runDir == null) {
            String rd = System.getenv("XENSTORED_RUNDIR");
            runDir = Path.of(rd != null && !rd.isEmpty() ? rd : "/var/run/xenstored");
        }
        return runDir.resolve("socket");
    }

    @Override
    public Integer call() throws Exception {
        Path path = defaultSocket(socket, runDir);
        String tooLong = org.jxen.toolstack.UserErrors.socketPathProblem(path, socket != null ? "--socket" : "--run-dir");
        if (tooLong != null) {
            System.err.println("xenstored: " + tooLong);
            return 1;
        }
        if (supervised && stateDir == null) {
            System.err.println("xenstored: --supervised needs --state-dir (live update restarts from it)");
            return 1;
        }
        if (!journalIo.equals("write") && !journalIo.equals("mmap")) {
            System.err.println("xenstored: --journal-io is write or mmap, not " + journalIo);
            return 1;
        }
        XenStoredServer server;
        try {
            // Held: clients wait in the socket's backlog until the domain hooks below are in place.
            server = XenStoredServer.startHeld(new XenStoredServer.Options(path, trace, stateDir, fsync, snapshotBytes,
                    journalIo.equals("mmap") ? org.jxen.xenstored.state.Journal.Io.MMAP : org.jxen.xenstored.state.Journal.Io.WRITE));
        } catch (java.io.IOException e) {
            System.err.println("xenstored: " + e.getMessage());
            return 1;
        }
        if (server.recovered() != null) {
            var r = server.recovered();
            System.err.println("jxen xenstored: recovered state from " + stateDir + ": snapshot seq " + r.snapshotSeq()
                    + ", " + r.batchesApplied() + " journal batch(es) after it"
                    + (r.bytesCut() > 0 ? ", " + r.bytesCut() + " byte(s) of a torn tail cut" : ""));
            // A journal that cannot be written means replies would claim what is not durable: stop, and let
            // the supervisor restart a daemon that recovers what was written.
            server.onJournalFailure(e -> {
                System.err.println("jxen xenstored: journal write failed (" + e.getMessage() + "); exiting");
                Runtime.getRuntime().halt(70);
            });
        }
        if (supervised) {
            server.enableLiveUpdate();
            // stdin is the lifeline: only the supervising host holds the pipe's other end, so EOF means it is gone.
            Thread.ofPlatform().daemon().name("xenstored-lifeline").start(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // nothing is ever sent
                    }
                } catch (java.io.IOException e) {
                    // the same: the host is gone
                }
                Runtime.getRuntime().halt(0);
            });
        }
        if (dom0Devices != null) {
            try {
                org.jxen.xenstored.GuestRings.start(server, org.jxen.hypervisor.process.Dom0DeviceClient.connect(dom0Devices),
                        () -> Runtime.getRuntime().halt(0));
            } catch (java.io.IOException | IllegalStateException e) {
                System.err.println("xenstored: dom0 device socket " + dom0Devices + ": " + e.getMessage());
                server.close();
                return 1;
            }
        }
        try {
            server.acceptConnections();
        } catch (java.io.IOException e) {
            System.err.println("xenstored: " + e.getMessage());
            server.close();
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM and SIGINT run shutdown hooks: close the loop and remove the socket before exiting.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "xenstored-shutdown"));
        System.err.println("jxen xenstored: listening on " + path);
        stopped.await();
        return 0;
    }
}
