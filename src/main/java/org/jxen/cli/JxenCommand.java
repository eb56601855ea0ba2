package org.jxen.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code jxen} command: one subcommand per tool. */
@Command(name = "jxen", mixinStandardHelpOptions = true, version = "jxen 0.1.0",
        description = "Xen's split-driver system in Java: xenstored, tools, hypervisor emulation, drivers.",
        subcommands = {CommandLine.HelpCommand.class})
public final class JxenCommand implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new JxenCommand());
        // XenStore paths such as @introduceDomain start with '@': never read them as picocli argument files.
        cl.setExpandAtFiles(false);
        Subcommands.register(cl);
        // The last resort: whatever a command did not catch is still one line for the user, not a stack trace
        // (JXEN_DEBUG=1 prints the trace, for a bug report).
        cl.setExecutionExceptionHandler((e, line, parse) -> {
            line.getErr().println(line.getCommandName() + ": " + org.jxen.toolstack.UserErrors.oneLine(e));
            if (System.getenv("JXEN_DEBUG") != null) e.printStackTrace(new java.io.PrintWriter(line.getErr(), true));
            line.getErr().flush();
            return 1;
        });
        return cl;
    }

    public static void main(String[] args) {
        // One line per log record ("WARNING jxen.host: ..."), not java.util.logging's two-line default.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s %3$s: %5$s%6$s%n");
        }
        if (args.length > 0 && args[0].equals("xenstored")) {
            XenstoredCommand daemon = XenstoredArgs.parse(java.util.Arrays.copyOfRange(args, 1, args.length));
            if (daemon != null) System.exit(runDaemon(daemon));
        }
        System.exit(commandLine().execute(args));
    }

    /** The daemon started without picocli (XenstoredArgs), with the handler commandLine() gives the others. */
    private static int runDaemon(XenstoredCommand daemon) {
        try {
            return daemon.call();
        } catch (Exception e) {
            System.err.println("xenstored: " + org.jxen.toolstack.UserErrors.oneLine(e));
            if (System.getenv("JXEN_DEBUG") != null) e.printStackTrace();
            return 1;
        }
    }
}
