package org.jxen.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.jxen.bench.BenchResult;
import org.jxen.bench.HandshakeBench;
import org.jxen.bench.HvRow;
import org.jxen.bench.HypervisorBench;
import org.jxen.bench.NodeMemory;
import org.jxen.bench.XenStoreBench;
import org.jxen.xenstored.XenStoredServer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jxen bench}: benchmarks, one subcommand per component. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchCommand.XenStore.class, BenchCommand.HypervisorBenchCommand.class,
                BenchCommand.Handshake.class, BenchCommand.Block.class, BenchCommand.Net.class,
                BenchCommand.Migrate.class})
public final class BenchCommand implements Runnable {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "xenstore", mixinStandardHelpOptions = true,
            description = {"Throughput and latency of a xenstored on its Unix socket (jxen's or C's), with raw xs_wire "
                    + "frames and optional pipelining. Prints a Markdown table. Exit status 1 if the daemon answered "
                    + "any request with an error, 2 if the run could not complete. With --in-process, also the heap bytes "
                    + "per stored node.",
                    "Workloads: write, read, directory (100 children), transaction (START, 10 WRITEs, END), "
                    + "watch (write-to-event latency, one at a time), echo-floor (a bare echo server in this process). "
                    + "Everything lives under /bench, removed at the end."})
    static final class XenStore implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--socket", paramLabel = "PATH",
                description = "The daemon's socket. Default: $XENSTORED_PATH, else /var/run/xenstored/socket.")
        Path socket;

        @Option(names = "--conns", split = ",", defaultValue = "1,8,64", paramLabel = "N",
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

        @Option(names = "--workloads", split = ",", paramLabel = "W",
                description = "Workloads to run (default: all of write,read,directory,transaction,watch,echo-floor).")
        List<String> workloads = XenStoreBench.WORKLOADS;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON lines to FILE.")
        Path json;

        @Option(names = "--in-process",
                description = "Benchmark a jxen xenstored started inside this JVM (instead of --socket), then measure "
                        + "its heap bytes per stored node.")
        boolean inProcess;

        @Option(names = "--journal",
                description = "Run jxen's xenstored as its own process without its journal, with it written by "
                        + "write(2) and with it in a shared mapping (and C xenstored when --c-socket names it), side by "
                        + "side, alternating windows; print medians and the journal's cost.")
        boolean journal;

        @Option(names = "--journal-fsync",
                description = "With --journal: also a daemon that fsyncs its journal every loop round.")
        boolean journalFsync;

        @Option(names = "--c-socket", paramLabel = "PATH",
                description = "The socket of a C xenstored (tools/c-xenstored.sh) to measure beside jxen's in the same run: "
                        + "starts jxen's xenstored as its own process (as a host runs it, without the journal), runs the "
                        + "workloads against each in turn, --repeat times in alternating order, and prints the medians, "
                        + "their ratio and each daemon's CPU time per request. With --journal: a column beside the journal modes.")
        Path cSocket;

        @Option(names = "--repeat", defaultValue = "3", paramLabel = "N",
                description = "With --journal, --c-socket or --idle: rounds per workload and connection count, in "
                        + "alternating order (default: ${DEFAULT-VALUE}); medians are reported.")
        int repeat;

        @Option(names = "--idle", defaultValue = "0", paramLabel = "N",
                description = "Also measure with N idle Unix-socket connections and N idle guest rings open (jxen's: domains "
                        + "of a host this starts, its xenstored as the host runs it; C's: start it with FAKEXEN_DOMIDS=0-N). "
                        + "Raises the open-files soft limit as needed.")
        int idle;

        @Option(names = "--daemon-cpus", paramLabel = "LIST",
                description = "With --c-socket or --idle: pin every daemon's threads to these CPUs (taskset -a -p -c LIST).")
        String daemonCpus;

        @Option(names = "--node-memory", defaultValue = "100000", paramLabel = "N",
                description = "With --in-process: nodes to store for the memory measurement (default: ${DEFAULT-VALUE}).")
        int nodeMemory;

        @Override
        public Integer call() throws IOException {
            if (inProcess && socket != null) throw new CommandLine.ParameterException(spec.commandLine(), "--socket and --in-process exclude each other");
            try {
                if (journal) {
                    if (socket != null || inProcess) {
                        throw new CommandLine.ParameterException(spec.commandLine(), "--journal starts its own daemons: no --socket or --in-process");
                    }
                    if (repeat < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--repeat must be at least 1");
                    var rows = org.jxen.bench.JournalComparison.run(new XenStoreBench.Config(null, conns, pipeline, seconds,
                            warmup, workloads), cSocket, journalFsync, repeat, System.err);
                    System.out.println(org.jxen.bench.JournalComparison.markdown(rows));
                    if (json != null) Files.writeString(json, org.jxen.bench.JournalComparison.json(rows));
                    return rows.stream().flatMap(r -> r.rounds().values().stream()).flatMap(List::stream)
                            .anyMatch(r -> r.errors() > 0) ? 1 : 0;
                }
                if (cSocket != null || idle > 0) {
                    if (socket != null || inProcess) {
                        throw new CommandLine.ParameterException(spec.commandLine(), "--c-socket and --idle start jxen's daemon: no --socket or --in-process");
                    }
                    var cmp = new org.jxen.bench.PeerComparison(new XenStoreBench.Config(null, conns, pipeline, seconds, warmup,
                            workloads), cSocket, repeat, idle, daemonCpus, System.err);
                    var report = cmp.run();
                    System.out.print(org.jxen.bench.PeerComparison.markdown(report));
                    return report.rows().stream().anyMatch(r -> r.errors() > 0) ? 1 : 0;
                }
                return inProcess ? runInProcess() : report(runAgainst(socketPath()), null);
            } catch (IOException e) {
                // An unreachable or misbehaving daemon: say what happened, without a stack trace.
                System.err.println("jxen bench xenstore: " + e.getMessage());
                return 2;
            }
        }

        private int runInProcess() throws IOException {
            try (org.jxen.bench.ScratchDir dir = org.jxen.bench.ScratchDir.create("jxen-bench");
                 XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(dir.path().resolve("socket"), null))) {
                List<BenchResult> results = runAgainst(server.socketPath());
                System.err.println("bench: nodes " + nodeMemory);
                return report(results, NodeMemory.measure(server.socketPath(), nodeMemory));
            }
        }

        private List<BenchResult> runAgainst(Path daemon) throws IOException {
            XenStoreBench.Config config = new XenStoreBench.Config(daemon, conns, pipeline, seconds, warmup, workloads);
            return new XenStoreBench(config, System.err).run();
        }

        /** Prints the table (and the node memory, if measured), writes --json; 1 if the daemon reported errors. */
        private int report(List<BenchResult> results, NodeMemory.Result nodes) throws IOException {
            PrintStream out = System.out;
            out.println(BenchResult.markdown(results));
            if (nodes != null) out.println(nodes.describe());
            if (json != null) {
                StringBuilder lines = new StringBuilder();
                for (BenchResult r : results) lines.append(r.toJson()).append('\n');
                if (nodes != null) lines.append(nodes.toJson()).append('\n');
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

    @Command(name = "hypervisor", mixinStandardHelpOptions = true,
            description = {"Event-channel notify latency (ping-pong half round trip) and throughput with the receiver "
                    + "blocked or polling, grant map+unmap rate, and grant copy bandwidth against a plain memory copy; "
                    + "each in one JVM and across processes (a guest JVM). Runs its own hypervisor in a temporary "
                    + "directory. Prints a Markdown table and the issue's targets. Exit status 1 if any operation failed.",
                    "Measurements: notify-inproc-blocking, notify-inproc-polling, notify-xproc-blocking, "
                    + "notify-xproc-polling, map-inproc, map-xproc, copy-inproc, copy-xproc."})
    static final class HypervisorBenchCommand implements Callable<Integer> {
        @Option(names = "--seconds", defaultValue = "5", paramLabel = "S",
                description = "Measured seconds per measurement (default: ${DEFAULT-VALUE}).")
        double seconds;

        @Option(names = "--warmup", defaultValue = "1", paramLabel = "S",
                description = "Unmeasured warm-up seconds before each measurement (default: ${DEFAULT-VALUE}).")
        double warmup;

        @Option(names = "--only", split = ",", paramLabel = "M",
                description = "Measurements to run (default: all).")
        List<String> only = HypervisorBench.MEASUREMENTS;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the rows as JSON lines to FILE.")
        Path json;

        @Override
        public Integer call() throws Exception {
            HypervisorBench bench = new HypervisorBench(new HypervisorBench.Config(seconds, warmup, only), System.err);
            List<HvRow> rows = bench.run();
            System.out.println(HvRow.markdown(rows));
            System.out.print(bench.placement().lines());
            if (json != null) {
                StringBuilder lines = new StringBuilder();
                for (HvRow r : rows) lines.append(r.toJson()).append('\n');
                Files.writeString(json, lines, StandardCharsets.UTF_8);
            }
            return rows.stream().anyMatch(r -> r.errors() > 0) ? 1 : 0;
        }
    }

    @Command(name = "block", mixinStandardHelpOptions = true,
            description = {"Virtual block device: 4 KiB random-read IOPS (qd 32) and 1 MiB sequential read/write MB/s "
                    + "(qd 8) measured by blkbench inside guests (in this JVM and in their own process, 1 and 2 queues), "
                    + "over a null disk (null:1G) and a 128 MiB image in the page cache; plus the floor, the same reads done "
                    + "directly on the image in this process. Reads are copied out into arrays; seqread-1m-zc reads "
                    + "zero-copy (blkfront lends the pages blkback read into; file backend only). Prints a Markdown table "
                    + "and the issue's targets. Exit status 1 if any run failed.",
                    "--only takes any of: randread-4k, seqread-1m, seqread-1m-zc, seqwrite-1m, inproc, xproc, floor, null, file, q1, q2 "
                    + "(within a category, the named values; categories not named are not restricted)."})
    static final class Block implements Callable<Integer> {
        @Option(names = "--seconds", defaultValue = "5", paramLabel = "S",
                description = "Measured seconds per run (default: ${DEFAULT-VALUE}).")
        double seconds;

        @Option(names = "--warmup", defaultValue = "3", paramLabel = "S",
                description = "Unmeasured warm-up seconds before each run (default: ${DEFAULT-VALUE}).")
        double warmup;

        @Option(names = "--only", split = ",", paramLabel = "NAME", description = "Restrict the runs (default: all).")
        List<String> only = List.of();

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the rows as JSON lines to FILE.")
        Path json;

        @Override
        public Integer call() throws Exception {
            var bench = new org.jxen.bench.BlockBench(new org.jxen.bench.BlockBench.Config(seconds, warmup, only), System.err);
            List<org.jxen.bench.BlockBench.Row> rows = bench.run();
            System.out.println(org.jxen.bench.BlockBench.markdown(rows));
            System.out.print(org.jxen.bench.BlockBench.targets(rows));
            System.out.print(bench.placement().lines());
            if (json != null) {
                StringBuilder lines = new StringBuilder();
                for (var r : rows) lines.append(r.toJson()).append('\n');
                Files.writeString(json, lines, StandardCharsets.UTF_8);
            }
            return rows.stream().anyMatch(r -> r.error() != null) ? 1 : 0;
        }
    }

    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = {"Live migration between two hosts in a temporary directory: per guest size and workload "
                    + "(idle: memory filled once; writing: pages rewritten throughout), pages per round, downtime "
                    + "(suspended at the source to running at the target) and total time, and the stream's GB/s beside "
                    + "a plain copy of the same memory. Exit status 1 if a migration failed."})
    static final class Migrate implements Callable<Integer> {
        @Option(names = "--sizes", split = ",", defaultValue = "64,1024", paramLabel = "MIB",
                description = "Guest memory sizes in MiB (default: ${DEFAULT-VALUE}).")
        List<Integer> sizes;

        @Option(names = "--workloads", split = ",", defaultValue = "idle,writing", paramLabel = "W",
                description = "idle, writing (default: ${DEFAULT-VALUE}).")
        List<String> workloads;

        @Option(names = "--dirty-rate", defaultValue = "10", paramLabel = "PAGES_PER_MS",
                description = "Pages the writing workload rewrites per millisecond (default: ${DEFAULT-VALUE}).")
        int dirtyRate;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the rows as JSON lines to FILE.")
        Path json;

        @Override
        public Integer call() throws Exception {
            for (String w : workloads) {
                if (!w.equals("idle") && !w.equals("writing")) {
                    System.err.println("bench migrate: unknown workload " + w + " (idle, writing)");
                    return 2;
                }
            }
            for (int s : sizes) {
                if (s < 4 || s > org.jxen.toolstack.DomainConfig.MAX_MEMORY_MIB) {
                    System.err.println("bench migrate: size " + s + " MiB is outside 4.." + org.jxen.toolstack.DomainConfig.MAX_MEMORY_MIB);
                    return 2;
                }
            }
            var bench = new org.jxen.bench.MigrateBench(new org.jxen.bench.MigrateBench.Config(sizes, workloads, dirtyRate), System.err);
            var rows = bench.run();
            System.out.println(org.jxen.bench.MigrateBench.markdown(rows));
            System.out.print(org.jxen.bench.MigrateBench.targets(rows));
            if (json != null) {
                StringBuilder lines = new StringBuilder();
                for (var r : rows) lines.append(r.toJson()).append('\n');
                Files.writeString(json, lines, StandardCharsets.UTF_8);
            }
            return rows.stream().anyMatch(r -> r.error() != null) ? 1 : 0;
        }
    }

    @Command(name = "handshake", mixinStandardHelpOptions = true,
            description = {"Device handshake at scale: starts a host in a temporary directory, boots N guests "
                    + "(in-process unless --process-guests) with mydevicefront (boot timed separately), attaches K "
                    + "mydevice devices to each through the toolstack's Libxl (a pool of --workers concurrent "
                    + "attaches) and times each from the attach request to both ends' XenStore state reading "
                    + "Connected (4), seen by a dom0 watch; then detaches "
                    + "them all. Prints a Markdown table with one row per guest count (the scaling table). Exit status 1 "
                    + "if any device failed to connect or detach, or the limit was exceeded."})
    static final class Handshake implements Callable<Integer> {
        @Option(names = "--guests", split = ",", defaultValue = "10,100,1000", paramLabel = "N",
                description = "Guest counts, one fresh host each (default: ${DEFAULT-VALUE}).")
        List<Integer> guests;

        @Option(names = "--devices", defaultValue = "3", paramLabel = "K",
                description = "mydevice devices per guest (default: ${DEFAULT-VALUE}).")
        int devices;

        @Option(names = "--seconds-limit", defaultValue = "60", paramLabel = "S",
                description = "Give up waiting for Connected after S seconds from the first attach (default: ${DEFAULT-VALUE}).")
        double secondsLimit;

        @Option(names = "--workers", defaultValue = "64", paramLabel = "W",
                description = "Concurrent attach/detach calls (default: ${DEFAULT-VALUE}).")
        int workers;

        @Option(names = "--memory", defaultValue = "1", paramLabel = "MiB",
                description = "Memory of each guest (default: ${DEFAULT-VALUE}).")
        int memory;

        @Option(names = "--process-guests", description = "Each guest in a process of its own, as xl starts them "
                + "(default: in the host's JVM). attach CPU s then counts the host's process only.")
        boolean processGuests;

        @Option(names = "--extra", paramLabel = "ARGS", defaultValue = "",
                description = "Words added to every guest's kernel command line, as xl.cfg's extra "
                        + "(e.g. xen.fifo_events=0: the 2-level event-channel ABI).")
        String extra;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the rows as JSON lines to FILE.")
        Path json;

        @Override
        public Integer call() throws Exception {
            List<HandshakeBench.Row> rows = new HandshakeBench(new HandshakeBench.Config(guests, devices, secondsLimit,
                    workers, memory, processGuests, extra), System.err).run();
            System.out.println(HandshakeBench.Row.markdown(rows));
            for (HandshakeBench.Row r : rows) {
                for (String e : r.errors()) System.out.println("N=" + r.guests() + ": " + e);
            }
            if (json != null) {
                StringBuilder lines = new StringBuilder();
                for (HandshakeBench.Row r : rows) lines.append(r.toJson()).append('\n');
                Files.writeString(json, lines, StandardCharsets.UTF_8);
            }
            return rows.stream().allMatch(HandshakeBench.Row::ok) ? 0 : 1;
        }
    }

    @Command(name = "net", mixinStandardHelpOptions = true,
            description = {"Network: two guests with vifs on xenbr0, on a host inside a network namespace made for the "
                    + "run; TCP throughput (iperf3) guest to guest and guest to dom0, 64-byte UDP packets/s with the CPU "
                    + "time per packet, and ping round trips, each beside the same over a plain veth pair between two "
                    + "namespaces (what Linux alone does). Needs root, ip, iperf3 and ping. Reported, not asserted."})
    static final class Net implements Callable<Integer> {
        @Option(names = "--seconds", defaultValue = "4", paramLabel = "S", description = "iperf3 run time (default: ${DEFAULT-VALUE}).")
        int seconds;

        @Override
        public Integer call() throws Exception {
            List<String> jxen = List.of(ProcessHandle.current().info().command().orElse("java"),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    JxenCommand.class.getName());
            try (org.jxen.bench.ScratchDir dir = org.jxen.bench.ScratchDir.create("jxen-bench-net")) {
                System.out.print(org.jxen.bench.NetBench.table(new org.jxen.bench.NetBench(jxen, seconds).run(dir.path())));
            }
            return 0;
        }
    }
}
