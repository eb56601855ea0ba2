package org.jxen.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.jxen.bench.BenchResult;
import org.jxen.bench.XenStoreBench;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jxen bench}: benchmarks, one subcommand per component. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchCommand.XenStore.class})
public final class BenchCommand implements Runnable {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "xenstore", mixinStandardHelpOptions = true,
            description = {"Throughput and latency of a xenstored on its Unix socket (jxen's or C's), with raw xs_wire "
                    + "frames and optional pipelining. Prints a Markdown table; exit status 1 if the daemon answered "
                    + "any request with an error.",
                    "Workloads: write, read, directory (100 children), transaction (START, 10 WRITEs, END), "
                    + "watch (write-to-event latency, one at a time), echo-floor (a bare echo server in this process). "
                    + "Everything lives under /bench, removed at the end."})
    static final class XenStore implements Callable<Integer> {
        @Option(names = "--socket", paramLabel = "PATH",
                description = "The daemon's socket. Default: $XENSTORED_PATH, else /var/run/xenstored/socket.")
        Path socket;

        @Option(names = "--conns", split = ",", defaultValue = "1,8,64", paramLabel = "N[,N...]",
                description = "Connection counts to run each workload with (default: ${DEFAULT-VALUE}).")
        List<Integer> conns;

        @Option(names = "--pipeline", defaultValue = "1", paramLabel = "N",
                description = "Requests (operations) each connection keeps in flight (default: ${DEFAULT-VALUE}).")
        int pipeline;

        @Option(names = "--seconds", defaultValue = "5", paramLabel = "S",
                description = "Measured seconds per workload and connection count (default: ${DEFAULT-VALUE}).")
        double seconds;

        @Option(names = "--warmup", defaultValue = "1", paramLabel = "S",
                description = "Unmeasured warm-up seconds before each measurement (default: ${DEFAULT-VALUE}).")
        double warmup;

        @Option(names = "--workloads", split = ",", paramLabel = "W[,W...]",
                description = "Workloads to run (default: all of write,read,directory,transaction,watch,echo-floor).")
        List<String> workloads = XenStoreBench.WORKLOADS;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON lines to FILE.")
        Path json;

        @Override
        public Integer call() throws IOException {
            PrintStream out = System.out;
            XenStoreBench.Config config = new XenStoreBench.Config(socketPath(), conns, pipeline, seconds, warmup, workloads);
            List<BenchResult> results = new XenStoreBench(config, System.err).run();
            out.println(BenchResult.markdown(results));
            if (json != null) {
                StringBuilder lines = new StringBuilder();
                for (BenchResult r : results) lines.append(r.toJson()).append('\n');
                Files.writeString(json, lines, StandardCharsets.UTF_8);
            }
            return results.stream().anyMatch(r -> r.errors() > 0) ? 1 : 0;
        }

        private Path socketPath() {
            if (socket != null) return socket;
            String env = System.getenv("XENSTORED_PATH");
            return Path.of(env != null && !env.isEmpty() ? env : "/var/run/xenstored/socket");
        }
    }
}
