package org.jxen.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * {@code jxen xl} as xl behaves around its commands: {@code xl help [CMD]} and {@code xl CMD -h|--help} print
 * xl's texts ({@link XlCmdTable}) with status 0; a command word is looked up as xl does (an unambiguous prefix
 * will do); a word that names no command jxen has prints xl's "command not implemented" (status 1); a missing
 * argument prints xl's "'xl CMD' requires at least N arguments." and the command's help (status 2); an unknown
 * option, xl's "option `X' not supported." (status 2).
 */
final class XlCli {
    private XlCli() {}

    /** Adds {@code xl} with all its commands to {@code jxen}, and xl's answers to mistakes. */
    static void register(CommandLine jxen) {
        CommandLine xl = new CommandLine(new XlCommand());
        xl.addSubcommand(new XlHelpCommand());
        for (Object c : XlDomainCommands.all()) xl.addSubcommand(c);
        for (Object c : XlInfoCommands.all()) xl.addSubcommand(c);
        jxen.addSubcommand(xl);
        xl.setHelpSectionKeys(List.of("xl"));
        xl.getHelpSectionMap().put("xl", help -> XlCmdTable.full());
        XlCmdTable.register(xl);
        for (CommandLine sub : xl.getSubcommands().values()) xlHelp(sub);
        jxen.setParameterExceptionHandler(new Errors(jxen.getParameterExceptionHandler()));
        jxen.setExecutionStrategy(new DryRunCommands(new DomainArguments(jxen.getExecutionStrategy())));
    }

    /**
     * xl.c's check of the global -N: only a command that can dry-run takes it (jxen's: create, config-update,
     * block-attach, network-attach).
     */
    private record DryRunCommands(CommandLine.IExecutionStrategy next) implements CommandLine.IExecutionStrategy {
        @Override
        public int execute(CommandLine.ParseResult parse) {
            for (CommandLine.ParseResult p = parse; p != null; p = p.subcommand()) {
                if (p.commandSpec().userObject() instanceof XlCommand xl && xl.dryRun && p.subcommand() != null
                        && !(p.subcommand().commandSpec().userObject() instanceof XlCommand.Create
                                || p.subcommand().commandSpec().userObject() instanceof XlBlockCommands.Attach
                                || p.subcommand().commandSpec().userObject() instanceof XlNetworkCommands.Attach
                                || p.subcommand().commandSpec().userObject() instanceof XlDomainCommands.ConfigUpdate)) {
                    PrintWriter err = p.commandSpec().commandLine().getErr();
                    err.println("command does not implement -N (dryrun) option");
                    err.flush();
                    return 1;
                }
            }
            return next.execute(parse);
        }
    }

    /**
     * A DOM argument is a domain id or a name ({@code [A-Za-z0-9_.-]}, as a config may give it): any other word
     * names no domain, and says so in find_domain's words before it reaches the host, whose requests are words on
     * a line ("my guest" would be two). An empty word is refused too, where xl's strtoul would read it as domain 0.
     */
    private record DomainArguments(CommandLine.IExecutionStrategy next) implements CommandLine.IExecutionStrategy {
        @Override
        public int execute(CommandLine.ParseResult parse) {
            for (CommandLine.ParseResult p = parse; p != null; p = p.subcommand()) {
                if (!isXl(p.commandSpec().commandLine())) continue;
                for (PositionalParamSpec param : p.matchedPositionals()) {
                    if (!param.paramLabel().equals("DOM")) continue;
                    for (String value : param.stringValues()) {
                        if (!value.matches("[A-Za-z0-9_.-]+")) {
                            PrintWriter err = p.commandSpec().commandLine().getErr();
                            err.println(org.jxen.toolstack.Libxl.invalidDomain(value));
                            err.flush();
                            return 1;
                        }
                    }
                }
            }
            return next.execute(parse);
        }
    }

    /** The command's -h and --help print xl's help text for it. */
    private static void xlHelp(CommandLine sub) {
        String name = sub.getCommandName();
        CommandSpec spec = sub.getCommandSpec();
        if (spec.findOption("-h") == null && spec.findOption("--help") == null) {
            spec.addOption(OptionSpec.builder("-h", "--help").usageHelp(true).description("Print this help.").build());
        }
        sub.setHelpSectionKeys(List.of("xl"));
        sub.getHelpSectionMap().put("xl", help -> XlCmdTable.help(name));
    }

    /** Whether {@code cl} is xl or one of its commands. */
    private static boolean isXl(CommandLine cl) {
        for (CommandLine c = cl; c != null; c = c.getParent()) if (c.getCommand() instanceof XlCommand) return true;
        return false;
    }

    /** xl's messages for what picocli could not parse under xl; anything else goes to jxen's own handler. */
    private record Errors(CommandLine.IParameterExceptionHandler next) implements CommandLine.IParameterExceptionHandler {
        @Override
        public int handleParseException(CommandLine.ParameterException ex, String[] args) throws Exception {
            CommandLine cl = ex.getCommandLine();
            if (cl == null || !isXl(cl)) return next.handleParseException(ex, args);
            PrintWriter err = cl.getErr();
            if (cl.getCommand() instanceof XlCommand) return atXl(cl, ex, args, err);
            String name = cl.getCommandName();
            if (ex instanceof CommandLine.UnmatchedArgumentException u && u.getUnmatched().getFirst().startsWith("-")
                    && u.getUnmatched().getFirst().length() > 1) {
                return unsupportedOption(err, u.getUnmatched().getFirst());
            }
            if (ex instanceof CommandLine.UnmatchedArgumentException u && u.getUnmatched().stream().noneMatch(
                    a -> a.startsWith("-") && a.length() > 1)) {
                // xl's commands read the arguments they take (argv[optind], ...) and never look at the rest.
                return withoutTrailing(cl, args, u.getUnmatched());
            }
            if (ex instanceof CommandLine.MissingParameterException) {
                int n = required(cl.getCommandSpec());
                err.printf("'xl %s' requires at least %d argument%s.%n%n", name, n, n > 1 ? "s" : "");
                err.print(XlCmdTable.help(name));
                err.flush();
                return 2;
            }
            err.println("xl " + name + ": " + ex.getMessage());
            err.flush();
            return 2;
        }

        /** A word picocli did not take as one of xl's commands: xl's lookup, then "command not implemented". */
        private static int atXl(CommandLine xl, CommandLine.ParameterException ex, String[] args, PrintWriter err)
                throws Exception {
            if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
                String word = u.getUnmatched().getFirst();
                if (word.startsWith("-")) {
                    // What getopt says first, then xl.
                    err.println(word.startsWith("--") ? "xl: unrecognized option '" + word + "'"
                            : "xl: invalid option -- '" + invalidGlobal(word) + "'");
                    err.println("unknown global option");
                    err.flush();
                    return 1;
                }
                String cmd = XlCmdTable.lookup(word);
                if (cmd != null && !cmd.equals(word) && xl.getSubcommands().containsKey(cmd)) {
                    return rerun(xl, args, word, cmd);
                }
            }
            if (!(ex instanceof CommandLine.UnmatchedArgumentException)) {
                err.println(ex.getMessage()); // xl's own failure before any command: no host given
            } else {
                err.println("command not implemented");
            }
            err.flush();
            return 1;
        }

        /** The first letter of a cluster of short options that is none of xl's ({@code +vftTN}) or jxen's -H. */
        private static char invalidGlobal(String cluster) {
            for (int i = 1; i < cluster.length(); i++) {
                if ("vftTNH".indexOf(cluster.charAt(i)) < 0) return cluster.charAt(i);
            }
            return cluster.length() > 1 ? cluster.charAt(1) : '-';
        }

        /** The same command line with the abbreviated command word spelt out, run again from the top. */
        private static int rerun(CommandLine xl, String[] args, String word, String cmd) {
            List<String> a = new ArrayList<>(List.of(args));
            int xlAt = a.indexOf(xl.getCommandName());
            for (int i = Math.max(0, xlAt + 1); i < a.size(); i++) {
                if (a.get(i).equals(word)) {
                    a.set(i, cmd);
                    break;
                }
            }
            CommandLine root = xl;
            while (root.getParent() != null) root = root.getParent();
            return root.execute(a.toArray(String[]::new));
        }

        /** Runs the command line again without {@code extra}, the words at its end that no parameter took. */
        private static int withoutTrailing(CommandLine cl, String[] args, List<String> extra) {
            List<String> a = new ArrayList<>(List.of(args));
            if (extra.size() > a.size() || !a.subList(a.size() - extra.size(), a.size()).equals(extra)) {
                // Not a tail (picocli found them elsewhere): say so as before.
                cl.getErr().println("xl " + cl.getCommandName() + ": unexpected argument " + String.join(" ", extra));
                cl.getErr().flush();
                return 2;
            }
            a.subList(a.size() - extra.size(), a.size()).clear();
            CommandLine root = cl;
            while (root.getParent() != null) root = root.getParent();
            return root.execute(a.toArray(String[]::new));
        }

        private static int unsupportedOption(PrintWriter err, String opt) {
            String o = opt.startsWith("--") ? opt.substring(2) : opt.substring(1, 2);
            int eq = o.indexOf('=');
            err.println("option `" + (eq >= 0 ? o.substring(0, eq) : o) + "' not supported.");
            err.flush();
            return 2;
        }

        private static int required(CommandSpec spec) {
            int n = 0;
            for (PositionalParamSpec p : spec.positionalParameters()) n += p.arity().min();
            return Math.max(n, 1);
        }
    }
}
