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
        XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(path, trace));
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
