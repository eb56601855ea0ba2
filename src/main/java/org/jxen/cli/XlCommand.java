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
import org.jxen.toolstack.DomainConfig;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.XlCfgException;
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
        subcommands = {XlCommand.Create.class, XlCommand.ListDomains.class, XlCommand.Destroy.class,
                XlCommand.Shutdown.class, XlCommand.Dmesg.class, XlCommand.Console.class, XlDeviceCommands.Attach.class,
                XlDeviceCommands.Detach.class, XlBlockCommands.Attach.class, XlBlockCommands.Detach.class,
                XlBlockCommands.ListBlocks.class, XlDeviceCommands.Exec.class, XlNetworkCommands.Attach.class,
                XlNetworkCommands.Detach.class, XlNetworkCommands.ListNics.class})
public final class XlCommand implements Runnable {
    static final String HEADER = "Name                                        ID   Mem VCPUs\tState\tTime(s)";

    @Option(names = {"-H", "--host-dir"}, paramLabel = "DIR", scope = CommandLine.ScopeType.INHERIT,
            description = "The host's run directory (default: $JXEN_RUN_DIR).")
    Path runDir;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
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

    @Command(name = "create", description = "Create a domain from an xl.cfg file.")
    static final class Create implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "CONFIG")
        Path config;

        @Override
        public Integer call() {
            byte[] text;
            try {
                text = Files.readAllBytes(config);
            } catch (NoSuchFileException e) {
                return fail(spec, "Failed to read config file: " + config + ": No such file or directory");
            } catch (IOException e) {
                return fail(spec, "Failed to read config file: " + config + ": " + e.getMessage());
            }
            spec.commandLine().getErr().println("Parsing config from " + config);
            spec.commandLine().getErr().flush();
            try {
                DomainConfig.parse(new String(text, StandardCharsets.UTF_8));
            } catch (XlCfgException e) {
                return fail(spec, "Failed to parse config: " + e.forFile(config.toString()));
            }
            try {
                // xl says nothing more on success; the new domain shows in xl list.
                xl.control().call("create " + text.length, text, l -> {});
                return 0;
            } catch (ControlException | IOException e) {
                return fail(spec, "libxl: error: " + e.getMessage());
            }
        }
    }

    @Command(name = "list", description = "List the host's domains.")
    static final class ListDomains implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            List<String> rows;
            try {
                rows = xl.control().call("list");
            } catch (ControlException | IOException e) {
                return fail(spec, e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println(HEADER);
            for (String row : rows) {
                String[] f = row.split("\t");
                out.println(String.format("%-40s %5d %5d %5d     %s  %8.1f", f[0], Integer.parseInt(f[1]),
                        Integer.parseInt(f[2]), Integer.parseInt(f[3]), f[4], Double.parseDouble(f[5])));
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "destroy", description = "Destroy a domain at once.")
    static final class Destroy implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DOM")
        String dom;

        @Override
        public Integer call() {
            return request(xl, spec, "destroy " + dom);
        }
    }

    @Command(name = "shutdown", description = "Ask a domain to power off (control/shutdown = poweroff).")
    static final class Shutdown implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DOM")
        String dom;

        @Override
        public Integer call() {
            return request(xl, spec, "shutdown " + dom);
        }
    }

    @Command(name = "dmesg", description = "Print a domain's console log (dom0's kernel log without DOM).")
    static final class Dmesg implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DOM", arity = "0..1")
        String dom;

        @Override
        public Integer call() {
            return request(xl, spec, dom == null ? "dmesg" : "dmesg " + dom);
        }
    }

    @Command(name = "console", description = "Print a domain's console and follow it until the domain dies (Ctrl-C to leave).")
    static final class Console implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DOM")
        String dom;
        @Option(names = "--no-follow", description = "Print what is there and exit (as dmesg DOM).")
        boolean noFollow;

        @Override
        public Integer call() {
            return request(xl, spec, (noFollow ? "dmesg " : "console ") + dom);
        }
    }
}
