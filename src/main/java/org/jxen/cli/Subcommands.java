package org.jxen.cli;

import picocli.CommandLine;

/** The list of {@code jxen} subcommands, in one place so that adding a tool touches one line. */
final class Subcommands {
    private Subcommands() {}

    static void register(CommandLine cl) {
        cl.addSubcommand(new XenstoredCommand());
    }
}
