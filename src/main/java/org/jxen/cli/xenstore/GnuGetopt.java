package org.jxen.cli.xenstore;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * glibc's getopt_long as Xen's C tools use it: options and operands may be mixed (operands are permuted to
 * the end), {@code --} ends the options, long options may be abbreviated, and mistakes are reported on
 * stderr with glibc's exact wording while parsing carries on ({@code '?'} is returned for them).
 */
final class GnuGetopt {
    record LongOption(String name, boolean hasArg, char val) {}

    /** One parsed option: its letter ({@code '?'} for a mistake) and argument (or null). */
    record Option(char letter, String arg) {}

    private final String progname;
    private final String shortOptions;
    private final List<LongOption> longOptions;
    private final PrintStream err;
    private final List<String> args;
    private final List<String> operands = new ArrayList<>();
    private int next;
    private String cluster = "";
    private boolean optionsEnded;
    private final boolean stopAtFirstOperand;

    /**
     * {@code progname} is getopt's argv[0], which prefixes its messages. With {@code posixlyCorrect} (the
     * POSIXLY_CORRECT environment variable is set) options end at the first operand instead of being permuted.
     */
    GnuGetopt(String progname, List<String> args, String shortOptions, List<LongOption> longOptions, PrintStream err,
              boolean posixlyCorrect) {
        this.stopAtFirstOperand = posixlyCorrect;
        this.progname = progname;
        this.args = args;
        this.shortOptions = shortOptions;
        this.longOptions = longOptions;
        this.err = err;
    }

    /** The next option, or null when there are none left; {@link #operands()} is complete after that. */
    Option next() {
        if (!cluster.isEmpty()) return shortOption();
        while (next < args.size()) {
            String a = args.get(next++);
            if (optionsEnded || a.equals("-") || !a.startsWith("-")) {
                operands.add(a);
                if (stopAtFirstOperand) optionsEnded = true;
            } else if (a.equals("--")) {
                optionsEnded = true;
            } else if (a.startsWith("--")) {
                return longOption(a.substring(2));
            } else {
                cluster = a.substring(1);
                return shortOption();
            }
        }
        return null;
    }

    /** Operands in their original order, as getopt leaves them at argv[optind..] after permuting. */
    List<String> operands() {
        return operands;
    }

    private Option shortOption() {
        char c = cluster.charAt(0);
        cluster = cluster.substring(1);
        int i = shortOptions.indexOf(c);
        if (i < 0 || c == ':') {
            err.print(progname + ": invalid option -- '" + c + "'\n");
            return new Option('?', null);
        }
        boolean hasArg = i + 1 < shortOptions.length() && shortOptions.charAt(i + 1) == ':';
        if (!hasArg) return new Option(c, null);
        if (!cluster.isEmpty()) {
            String arg = cluster;
            cluster = "";
            return new Option(c, arg);
        }
        if (next < args.size()) return new Option(c, args.get(next++));
        err.print(progname + ": option requires an argument -- '" + c + "'\n");
        return new Option('?', null);
    }

    private Option longOption(String text) {
        int eq = text.indexOf('=');
        String name = eq < 0 ? text : text.substring(0, eq);
        LongOption found = null;
        List<LongOption> candidates = new ArrayList<>();
        for (LongOption o : longOptions) {
            if (o.name.equals(name)) {
                found = o;
                candidates.clear();
                break;
            }
            if (o.name.startsWith(name)) candidates.add(o);
        }
        if (found == null) {
            if (candidates.isEmpty()) {
                err.print(progname + ": unrecognized option '--" + text + "'\n");
                return new Option('?', null);
            }
            if (candidates.size() > 1) {
                StringBuilder sb = new StringBuilder(progname + ": option '--" + text + "' is ambiguous; possibilities:");
                for (LongOption o : candidates) sb.append(" '--").append(o.name).append('\'');
                err.print(sb.append('\n'));
                return new Option('?', null);
            }
            found = candidates.getFirst();
        }
        if (!found.hasArg) {
            if (eq >= 0) {
                err.print(progname + ": option '--" + found.name + "' doesn't allow an argument\n");
                return new Option('?', null);
            }
            return new Option(found.val, null);
        }
        if (eq >= 0) return new Option(found.val, text.substring(eq + 1));
        if (next < args.size()) return new Option(found.val, args.get(next++));
        err.print(progname + ": option '--" + found.name + "' requires an argument\n");
        return new Option('?', null);
    }
}
