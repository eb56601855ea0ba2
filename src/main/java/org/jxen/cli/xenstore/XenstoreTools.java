package org.jxen.cli.xenstore;

import picocli.CommandLine;

/** Adds Xen's xenstore command-line tools to jxen as subcommands named like Debian's binaries. */
public final class XenstoreTools {
    private XenstoreTools() {}

    /** One of xenstore_client.c's personalities: "xenstore", "xenstore-read", ... */
    public static void client(CommandLine cl, String name) {
        RawArgsCommand.register(cl, name, (argv0, args) ->
                XenstoreClientTool.run(argv0, args, System.getenv(), System.out, System.err));
    }

    public static void control(CommandLine cl, String name) {
        RawArgsCommand.register(cl, name, (argv0, args) ->
                XenstoreControlTool.run(argv0, args, System.getenv(), System.out, System.err));
    }
}
