package org.jxen.cli;

import org.jxen.cli.demo.DemoCommand;
import org.jxen.cli.xenstore.XenstoreTools;
import picocli.CommandLine;

/** The list of {@code jxen} subcommands, in one place so that adding a tool touches one line. */
final class Subcommands {
    private Subcommands() {}

    static void register(CommandLine cl) {
        cl.addSubcommand(new DemoCommand());
        cl.addSubcommand(new XenstoredCommand());
        cl.addSubcommand(new HostCommand());
        XlCli.register(cl);
        XenstoreTools.client(cl, "xenstore");
        XenstoreTools.client(cl, "xenstore-read");
        XenstoreTools.client(cl, "xenstore-write");
        XenstoreTools.client(cl, "xenstore-ls");
        XenstoreTools.client(cl, "xenstore-list");
        XenstoreTools.client(cl, "xenstore-exists");
        XenstoreTools.client(cl, "xenstore-rm");
        XenstoreTools.client(cl, "xenstore-chmod");
        XenstoreTools.client(cl, "xenstore-watch");
        XenstoreTools.control(cl, "xenstore-control");
        cl.addSubcommand(new BenchCommand());
    }
}
