package org.jxen.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.jxen.toolstack.ControlClient;
import org.jxen.toolstack.ControlException;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.XlCreate;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jxen xl}: the toolstack's command line. Lifecycle requests go to the running host's control socket
 * ({@code <run-dir>/toolstack.sock}); the device commands run libxl ({@code Libxl}) here, over the host's xenstored
 * socket, as xl does.
 */
@Command(name = "xl", mixinStandardHelpOptions = true,
        description = "Manage the domains of a running `jxen host` (xl's commands, jxen-sized).",
        subcommands = {XlCommand.Create.class, XlConsole.class, XlDeviceCommands.Attach.class,
                XlDeviceCommands.Detach.class, XlBlockCommands.Attach.class, XlBlockCommands.Detach.class,
                XlBlockCommands.CdInsert.class, XlBlockCommands.CdEject.class,
                XlBlockCommands.ListBlocks.class, XlBlockCommands.Resize.class, XlDeviceCommands.Exec.class,
                XlNetworkCommands.Attach.class, XlNetworkCommands.Detach.class, XlNetworkCommands.ListNics.class,
                XlNetworkCommands.Rate.class,
                XlMigrationCommands.Save.class, XlMigrationCommands.Restore.class, XlMigrationCommands.Migrate.class})
public final class XlCommand implements Callable<Integer> {

    @Option(names = {"-H", "--host-dir"}, paramLabel = "DIR", scope = CommandLine.ScopeType.INHERIT,
            description = "The host's run directory (default: $JXEN_RUN_DIR).")
    Path runDir;

    /** xl's global -N: a command that can dry-run only says what it would do (jxen: create). */
    @Option(names = "-N", description = "Dry run: print what the command would do (create: the domain config), do nothing.")
    boolean dryRun;

    /** xl's global -v, once per level below libxl's default (progress): -vvv shows its debug messages. */
    @Option(names = "-v", description = "Verbose: libxl's messages of one level more each time (-vvv: debug, the"
            + " toolstack requests and replies).")
    boolean[] verbose = {};

    /** xl's global -f: it once let xl run beside a running xend; xl 4.17 sets it and nothing reads it, nor does jxen. */
    @Option(names = "-f", description = "Force execution (accepted as xl does; there is no xend to check for).")
    boolean force;

    /**
     * xl's global -t: progress meters overwrite themselves with a carriage return. libxl draws a meter only for
     * progress messages, and jxen's save, restore and migrate print whole lines, so there is none to draw.
     */
    @Option(names = "-t", description = "Progress meters use a carriage return (jxen prints whole progress lines).")
    boolean progressCr;

    /** xl's global -T (Xen 4.18): libxl's messages carry the time and xl's pid, as xentoollog's stdio logger writes them. */
    @Option(names = "-T", description = "Timestamps: libxl's messages start with the date, time and xl's pid.")
    boolean timestamps;

    @Spec
    CommandSpec spec;

    /** xl without a command: xl's help, and failure, as xl does. Commands jxen adds: XlCli. */
    @Override
    public Integer call() {
        spec.commandLine().getOut().print(XlCmdTable.full());
        spec.commandLine().getOut().flush();
        return 1;
    }

    Path runDir() {
        if (runDir != null) return runDir;
        String env = System.getenv("JXEN_RUN_DIR");
        if (env == null || env.isEmpty()) throw new CommandLine.ParameterException(spec.commandLine(),
                "no host given: use -H DIR or set JXEN_RUN_DIR");
        return Path.of(env);
    }

    ControlClient control() {
        ControlClient c = ControlClient.forRunDir(runDir());
        if (verbose.length < DEBUG_V) return c;
        PrintWriter err = spec.commandLine().getErr();
        return c.tracing(l -> {
            err.println(libxlMessage("libxl: debug: toolstack " + l));
            err.flush();
        });
    }

    /** -v count at which libxl's debug messages show (xentoollog: progress, detail, verbose, debug). */
    static final int DEBUG_V = 3;

    /** A line of libxl's logger as xl -T writes it: the date, time and zone, then xl's pid in brackets; else as is. */
    String libxlMessage(String line) {
        if (!timestamps) return line;
        java.time.ZonedDateTime now = java.time.ZonedDateTime.now();
        return now.format(java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss zzz", java.util.Locale.ROOT))
                + " [" + ProcessHandle.current().pid() + "] " + line;
    }

    /** The xl command {@code spec} is or is under. */
    static XlCommand of(CommandSpec spec) {
        for (CommandLine c = spec.commandLine(); c != null; c = c.getParent()) {
            if (c.getCommand() instanceof XlCommand xl) return xl;
        }
        throw new IllegalStateException(spec.name() + " is not an xl command");
    }

    /** Where the host's xenstored listens for tools. */
    Path xenstoredSocket() {
        return runDir().resolve(Host.XENSTORED_SOCKET);
    }

    /** Prints an error as xl does (to stderr) and gives its exit code; libxl's lines get xl -T's timestamp. */
    static int fail(CommandSpec spec, String message) {
        PrintWriter err = spec.commandLine().getErr();
        XlCommand xl = of(spec);
        if (!xl.timestamps) {
            err.println(message);
        } else {
            String[] lines = message.split("\n", -1);
            for (int i = 0; i < lines.length; i++) if (lines[i].startsWith("libxl: ")) lines[i] = xl.libxlMessage(lines[i]);
            err.println(String.join("\n", lines));
        }
        err.flush();
        return 1;
    }

    /** Runs a control request whose data lines go to stdout. */
    static int request(XlCommand xl, CommandSpec spec, String request) {
        PrintWriter out = spec.commandLine().getOut();
        try {
            xl.control().call(request, null, l -> {
                out.println(l);
                out.flush();
            });
            return 0;
        } catch (ControlException | IOException e) {
            return fail(spec, e.getMessage());
        }
    }

    @Command(name = "create", description = "Create a domain from an xl.cfg file; KEY=VALUE arguments override its settings.")
    static final class Create implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "CONFIG|KEY=VALUE", arity = "0..*",
                description = "The config file (the first argument without '='), then settings that override it.")
        List<String> args = new java.util.ArrayList<>();
        @Option(names = "-c", description = "Attach to the new domain's console (xl console) once it is created.")
        boolean console;
        @Option(names = "-p", description = "Leave the domain paused after it is created (xl unpause boots it).")
        boolean paused;
        @Option(names = {"-q", "--quiet"}, description = "Quiet: no \"Parsing config from\".")
        boolean quiet;
        @Option(names = {"-f", "--defconfig"}, paramLabel = "FILE", description = "Use the given configuration file.")
        String defconfig;
        @Option(names = {"-n", "--dryrun"}, description = "Dry run: print the domain config libxl would build, create nothing.")
        boolean dryRun;
        @Option(names = "-d", description = "Debug: print the domain config libxl builds, then create it.")
        boolean debug;
        /**
         * xl's -e: no xl stays behind to wait for the domain's death. jxen's xl never does (the host handles the
         * domain's shutdown actions), so it changes nothing.
         */
        @Option(names = "-e", description = "Do not wait in the background for the death of the domain (jxen's xl never does).")
        boolean noWait;
        @Option(names = "-F", description = "Run in foreground until death of the domain.")
        boolean foreground;

        @Override
        public Integer call() {
            // As xl's main_create: -f names the file; of the arguments, those with '=' are settings, and one
            // without is the file if -f did not name it. Another one is xl's usage error (its help, status 2).
            if (args.isEmpty() && defconfig == null) {
                // What jxen said before -f: no file and no settings is nothing to create.
                spec.commandLine().getErr().printf("'xl create' requires at least 1 argument.%n%n");
                spec.commandLine().getErr().print(XlCmdTable.help("create"));
                spec.commandLine().getErr().flush();
                return 2;
            }
            String config = defconfig;
            List<String> overrides = new java.util.ArrayList<>();
            for (String a : args) {
                if (a.indexOf('=') >= 0) {
                    overrides.add(a);
                } else if (config == null) {
                    config = a;
                } else {
                    spec.commandLine().getOut().print(XlCmdTable.help("create"));
                    spec.commandLine().getOut().flush();
                    return 2;
                }
            }
            if (config == null) config = "/dev/null";
            String[] created = {null};
            boolean dry = dryRun || xl.dryRun;
            // A dry run needs no host: it only parses (xl's -n prints before it would talk to libxl's daemon).
            int rc = XlCreate.run(dry ? null : xl.control(), config, overrides, new XlCreate.Options(paused, quiet, dry, debug, foreground && !console),
                    spec.commandLine().getOut(), spec.commandLine().getErr(), domid -> created[0] = domid);
            return rc == 0 && console && created[0] != null ? XlConsole.attach(xl, spec, created[0]) : rc;
        }
    }
}
