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
        return ControlClient.forRunDir(runDir());
    }

    /** Where the host's xenstored listens for tools. */
    Path xenstoredSocket() {
        return runDir().resolve(Host.XENSTORED_SOCKET);
    }

    /** Prints an error as xl does (to stderr) and gives its exit code. */
    static int fail(CommandSpec spec, String message) {
        PrintWriter err = spec.commandLine().getErr();
        err.println(message);
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
            int rc = XlCreate.run(dry ? null : xl.control(), config, overrides, new XlCreate.Options(paused, quiet, dry),
                    spec.commandLine().getOut(), spec.commandLine().getErr(), domid -> created[0] = domid);
            return rc == 0 && console && created[0] != null ? XlConsole.attach(xl, spec, created[0]) : rc;
        }
    }
}
