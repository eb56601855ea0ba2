package org.jxen.cli.xenstore;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * A jxen subcommand that hands its arguments untouched to a tool with C-style argument parsing: picocli only
 * dispatches, so "--", "-h" and "@file" mean what they mean to the original tool.
 */
@Command
public final class RawArgsCommand implements Callable<Integer> {
    /** The tool: argv[0] and the arguments after it in, exit status out. */
    @FunctionalInterface
    public interface Tool {
        int run(String argv0, List<String> args);
    }

    private final String name;
    private final Tool tool;

    @Unmatched
    private List<String> args = new ArrayList<>();

    private RawArgsCommand(String name, Tool tool) {
        this.name = name;
        this.tool = tool;
    }

    /** Adds {@code name} to {@code parent} as a subcommand running {@code tool}. */
    public static void register(CommandLine parent, String name, Tool tool) {
        CommandLine cl = new CommandLine(new RawArgsCommand(name, tool));
        cl.setStopAtUnmatched(true);
        cl.setUnmatchedOptionsArePositionalParams(true);
        cl.setExpandAtFiles(false);
        // C argv strings cannot contain NUL, so no argument is ever taken as picocli's end-of-options marker.
        cl.setEndOfOptionsDelimiter("\0");
        parent.addSubcommand(name, cl);
    }

    @Override
    public Integer call() {
        return tool.run(name, args);
    }
}
