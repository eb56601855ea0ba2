package org.jxen.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jxen.toolstack.ControlException;
import org.jxen.toolstack.DomainConfig;
import org.jxen.toolstack.XlCfgException;
import org.jxen.toolstack.XlCreate;
import org.jxen.toolstack.migration.MigrationListener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * xl save, restore and migrate (xl_saverestore.c, xl_migrate.c): the host does the work (it owns the domain's
 * memory and its kernel's thread or process) and answers with the lines xl prints; docs/migration.md.
 */
final class XlMigrationCommands {
    /** libxl's 60 s for a guest to acknowledge a suspend request. */
    static final String DEFAULT_ACK = "60";

    private XlMigrationCommands() {}

    /** Progress to stderr (as xl prints it), one error line and 1 on failure. */
    static int run(XlCommand xl, CommandSpec spec, String request) {
        return run(xl, spec, request, null);
    }

    /** The same, with bytes after the request's line. */
    static int run(XlCommand xl, CommandSpec spec, String request, byte[] payload) {
        PrintWriter err = spec.commandLine().getErr();
        try {
            xl.control().call(request, payload, l -> {
                err.println(l);
                err.flush();
            });
            return 0;
        } catch (ControlException | IOException e) {
            return XlCommand.fail(spec, "libxl: error: " + e.getMessage());
        }
    }

    static long ackMillis(CommandSpec spec, String seconds) {
        try {
            double s = Double.parseDouble(seconds);
            if (!(s > 0) || s > 3600) throw new NumberFormatException();
            return Math.max(1, Math.round(s * 1000));
        } catch (NumberFormatException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--suspend-timeout must be seconds between 0 and 3600, not " + seconds);
        }
    }

    @Command(name = "save", description = "Save a domain's state to FILE (the domain is destroyed unless -c).")
    static final class Save implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Option(names = "-c", description = "Leave the domain running after creating the snapshot (suspend cancelled).")
        boolean checkpoint;
        @Option(names = "-p", description = "Leave the domain paused after creating the snapshot (xl unpause runs it).")
        boolean leavePaused;
        @Option(names = "--suspend-timeout", paramLabel = "S", defaultValue = DEFAULT_ACK,
                description = "Seconds the guest has to acknowledge the suspend request (libxl: 60).")
        String ack;
        @Parameters(index = "0", paramLabel = "DOM")
        String dom;
        @Parameters(index = "1", paramLabel = "FILE")
        Path file;

        @Override
        public Integer call() {
            Path abs = file.toAbsolutePath().normalize();
            // As save_domain: -p keeps the domain, paused, with or without -c.
            int after = leavePaused ? 2 : checkpoint ? 1 : 0;
            return run(xl, spec, "save " + dom + " " + after + " " + ackMillis(spec, ack) + " " + abs);
        }
    }

    @Command(name = "restore", description = "Restore a domain from a file written by xl save (on this host or another).")
    static final class Restore implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(arity = "1..2", paramLabel = "[CONFIG] FILE",
                description = "The saved domain; a config file before it replaces the config the image carries.")
        List<String> files = new ArrayList<>();
        @Option(names = "-p", description = "Do not unpause the domain after restoring it (xl unpause runs it).")
        boolean paused;

        @Override
        public Integer call() {
            // xl restore [options] [<ConfigFile>] <CheckpointFile>; more is its usage, and failure.
            if (files.size() > 2) {
                spec.commandLine().getOut().print(XlCmdTable.help("restore"));
                spec.commandLine().getOut().flush();
                return 1;
            }
            String file = files.getLast();
            String config = files.size() == 2 ? files.getFirst() : null;
            PrintWriter err = spec.commandLine().getErr();
            // As xl's create_domain: the image is opened and announced first, then the config read and parsed.
            Path abs = Path.of(file).toAbsolutePath().normalize();
            if (!Files.isRegularFile(abs)) return XlCommand.fail(spec, "cannot open " + file + ": No such file or directory");
            err.println("Loading new save file " + file);
            err.flush();
            if (config == null) return run(xl, spec, (paused ? "restore-paused " : "restore ") + abs);
            String text = XlCreate.readConfig(config, err);
            if (text == null) return 1;
            err.println("Parsing config from " + config);
            Path cwd = Path.of("").toAbsolutePath();
            try {
                DomainConfig dc = DomainConfig.parse(text, null, cwd);
                if (dc.warningLine() != null) err.println(config + ": " + dc.warningLine());
            } catch (XlCfgException e) {
                return XlCommand.fail(spec, "Failed to parse config: " + e.forFile(config));
            }
            err.flush();
            // The host resolves the config's relative paths against xl's directory, sent before the text (a
            // path may hold spaces, so not on the request line, which ends with the image's path).
            byte[] payload = (cwd + "\0" + text).getBytes(StandardCharsets.UTF_8);
            return run(xl, spec, "restore-config " + (paused ? 1 : 0) + " " + payload.length + " " + abs, payload);
        }
    }

    @Command(name = "migrate", description = {"Migrate a domain to another jxen host: TARGET is its run directory on",
            "this machine or ADDRESS:PORT of its --migrate-listen; the stream goes over TCP either way."})
    static final class Migrate implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Option(names = "--live", description = "Pre-copy: send the memory while the guest runs, then a short stop-and-copy.")
        boolean live;
        @Option(names = "--suspend-timeout", paramLabel = "S", defaultValue = DEFAULT_ACK,
                description = "Seconds the guest has to acknowledge the suspend request (libxl: 60).")
        String ack;
        @Parameters(index = "0", paramLabel = "DOM")
        String dom;
        @Parameters(index = "1", paramLabel = "TARGET")
        String target;

        @Override
        public Integer call() {
            String address = target;
            String runDir = "";
            Path dir = Path.of(target);
            if (Files.isDirectory(dir)) {
                try {
                    java.net.InetSocketAddress a = MigrationListener.of(dir);
                    if (a == null) return XlCommand.fail(spec, "migrate: " + target + " has no migrate.addr: is a jxen host running there?");
                    address = a.getHostString() + ":" + a.getPort();
                } catch (IOException | IllegalArgumentException e) {
                    return XlCommand.fail(spec, "migrate: " + target + ": " + e.getMessage());
                }
                if (dir.toAbsolutePath().normalize().equals(xl.runDir().toAbsolutePath().normalize())) {
                    return XlCommand.fail(spec, "migrate: " + target + " is this host's own run directory");
                }
                // The host remembers where the guest went: xl exec there follows a command that moved with it.
                runDir = " " + dir.toAbsolutePath().normalize();
            } else if (!target.contains(":")) {
                return XlCommand.fail(spec, "migrate: " + target + " is neither a run directory nor ADDRESS:PORT");
            }
            return run(xl, spec, "migrate " + dom + " " + (live ? 1 : 0) + " " + ackMillis(spec, ack) + " " + address + runDir);
        }
    }
}
