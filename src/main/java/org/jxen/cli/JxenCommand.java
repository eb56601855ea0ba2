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
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
