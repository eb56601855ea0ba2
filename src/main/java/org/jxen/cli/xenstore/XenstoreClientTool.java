package org.jxen.cli.xenstore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.XsType;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.client.XsLocator;

/**
 * Xen 4.17's xenstore_client.c: one program that is xenstore-read, -write, -rm, -exists, -list, -ls, -chmod
 * and -watch depending on its name, or {@code xenstore <mode>}. Arguments, output bytes, messages and exit
 * statuses follow Debian's xenstore-utils 4.17 exactly; comments mark where the C code's quirks are kept.
 */
public final class XenstoreClientTool {
    public enum Mode { CHMOD, EXISTS, LIST, LS, READ, RM, WRITE, WATCH }

    private static final List<GnuGetopt.LongOption> LONG_OPTIONS = List.of(
            new GnuGetopt.LongOption("help", false, 'h'),
            new GnuGetopt.LongOption("flat", false, 'f'),
            new GnuGetopt.LongOption("socket", false, 's'),
            new GnuGetopt.LongOption("prefix", false, 'p'),
            new GnuGetopt.LongOption("tidy", false, 't'),
            new GnuGetopt.LongOption("upto", false, 'u'),
            new GnuGetopt.LongOption("recurse", false, 'r'),
            new GnuGetopt.LongOption("number", true, 'n'),
            new GnuGetopt.LongOption("raw", false, 'R'));
    /** TAG " = \"...\"" of xenstore_client.c: room kept for a truncated value. */
    private static final int TAG_LEN = 8;
    /** MAX_PATH_LEN: chmod -r builds child paths in a buffer of this size and silently truncates. */
    private static final int CHMOD_PATH_MAX = 256;
    /** STRING_MAX: ls builds paths in a buffer of this size; a longer one is shown as unreadable. */
    private static final int LS_PATH_MAX = 3072 + 1024;

    private final ToolIo io;
    private final Mode mode;
    private final String progname;
    private final boolean inclMode;
    private final Map<String, String> env;
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();

    private boolean prefix, tidy, upto, recurse, raw;
    private int nrWatches = -1;
    private int maxWidth = 80;
    private int desiredWidth = 60;
    private boolean showWholePath;
    /** Terminal width for xenstore-ls when the caller knows it; null: ask the terminal stdout is on. */
    private Integer columns;

    private XenstoreClientTool(ToolIo io, Mode mode, String progname, boolean inclMode, Map<String, String> env) {
        this.io = io;
        this.mode = mode;
        this.progname = progname;
        this.inclMode = inclMode;
        this.env = env;
    }

    /**
     * Runs the tool as if exec'd with argv[0] = {@code argv0} ("xenstore-read", or "xenstore" followed by the
     * mode in {@code args}). Returns the exit status.
     */
    public static int run(String argv0, List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
        return run(argv0, args, env, out, err, null);
    }

    /** As {@link #run}, with the terminal width xenstore-ls would get from TIOCGWINSZ (for tests and callers that know it). */
    public static int runWithColumns(String argv0, List<String> args, Map<String, String> env, PrintStream out,
                                     PrintStream err, int columns) {
        return run(argv0, args, env, out, err, columns);
    }

    private static int run(String argv0, List<String> args, Map<String, String> env, PrintStream out, PrintStream err,
                           Integer columns) {
        String command = argv0.substring(argv0.lastIndexOf('/') + 1);
        ToolIo io = new ToolIo(out, err, command);
        try {
            List<String> getoptArgs;
            String getoptName;
            String modeName;
            boolean inclMode;
            if (command.startsWith("xenstore-")) {
                modeName = command.substring("xenstore-".length());
                getoptName = argv0;
                getoptArgs = args;
                inclMode = false;
            } else if (args.isEmpty()) {
                throw io.errx(1, "Usage: " + argv0 + " <mode> [-h] [...]");
            } else {
                // getopt then runs on argv+1: the mode word is its argv[0] and prefixes its messages.
                modeName = args.getFirst();
                getoptName = modeName;
                getoptArgs = args.subList(1, args.size());
                inclMode = true;
            }
            Mode mode = lookupMode(modeName, io);
            XenstoreClientTool tool = new XenstoreClientTool(io, mode, argv0, inclMode, env);
            tool.columns = columns;
            return tool.main(getoptName, getoptArgs);
        } catch (ToolExit e) {
            return e.status;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private static Mode lookupMode(String name, ToolIo io) {
        for (Mode m : Mode.values()) {
            if (m.name().toLowerCase(Locale.ROOT).equals(name)) return m;
        }
        // The C message ends with its own "\n" on top of errx's.
        throw io.errx(1, "unknown mode " + name + "\n");
    }

    private ToolExit usage() {
        String m = inclMode ? mode.name().toLowerCase(Locale.ROOT) + " " : "";
        String text = switch (mode) {
            case READ -> "[-h] [-p] [-s] [-R] key [...]";
            case WRITE -> "[-h] [-s] [-R] key value [...]";
            case RM -> "[-h] [-s] [-t] key [...]";
            case EXISTS, LIST -> "[-h] [-p] [-s] key [...]";
            case LS -> "[-h] [-f] [-p] [-s] [path]";
            case CHMOD -> "[-h] [-u] [-r] [-s] key <mode [modes...]>";
            case WATCH -> "[-h] [-n NR] key";
        };
        return io.errx(1, "Usage: " + progname + " " + m + text);
    }

    private int main(String getoptName, List<String> args) {
        GnuGetopt getopt = new GnuGetopt(getoptName, args, "hfspturn:R", LONG_OPTIONS, io.err,
                env.containsKey("POSIXLY_CORRECT"));
        for (GnuGetopt.Option o; (o = getopt.next()) != null; ) {
            switch (o.letter()) {
                case 'h' -> throw usage();
                case 'f' -> {
                    if (mode != Mode.LS) throw usage();
                    maxWidth = Integer.MAX_VALUE / 2;
                    desiredWidth = 0;
                    showWholePath = true;
                }
                case 's' -> { } // libxenstore 4.17 only ever uses the socket from dom0 user space
                case 'p' -> {
                    if (mode != Mode.READ && mode != Mode.LIST && mode != Mode.LS) throw usage();
                    prefix = true;
                }
                case 't' -> tidy = require(Mode.RM);
                case 'u' -> upto = require(Mode.CHMOD);
                case 'r' -> recurse = require(Mode.CHMOD);
                case 'n' -> {
                    require(Mode.WATCH);
                    nrWatches = CNumbers.atoi(o.arg());
                }
                case 'R' -> {
                    if (mode != Mode.READ && mode != Mode.WRITE) throw usage();
                    raw = true;
                }
                default -> { } // '?': getopt has already complained; the C code carries on
            }
        }
        List<String> operands = getopt.operands();
        if (mode == Mode.WRITE && operands.size() % 2 == 1) throw usage();
        if (mode != Mode.LS && operands.isEmpty()) throw usage();

        boolean transaction = switch (mode) {
            case READ -> operands.size() > 1;
            case WRITE -> operands.size() > 2;
            case LS, WATCH -> false;
            default -> true;
        };
        if (mode == Mode.LS) {
            Integer width = columns != null ? columns : TerminalWidth.stdoutColumns();
            if (width != null) maxWidth = width - 2;
        }

        XsClient xsh;
        try {
            xsh = new XsClient(UnixSocketChannel.connect(XsLocator.socketPath(env)));
        } catch (IOException e) {
            // connect()'s errno text, e.g. "No such file or directory" or "Connection refused".
            throw io.errx(1, "xs_open: " + (e.getMessage() != null ? e.getMessage() : "Connection refused"));
        }
        try {
            while (true) {
                int tx = XsClient.NO_TX;
                if (transaction) {
                    try {
                        tx = xsh.transactionStart().id();
                    } catch (IOException e) {
                        throw io.errx(1, "couldn't start transaction");
                    }
                }
                int ret = perform(operands, xsh, tx);
                if (transaction) {
                    try {
                        xsh.transactionEnd(tx, ret == 0);
                    } catch (IOException e) {
                        if (ret == 0 && e instanceof XenStoreException xe && xe.error() == XsError.EAGAIN) {
                            output.reset();
                            continue;
                        }
                        throw io.errx(1, "couldn't end transaction");
                    }
                }
                io.out.writeBytes(output.toByteArray());
                return ret;
            }
        } finally {
            closeQuietly(xsh);
        }
    }

    private static void closeQuietly(XsClient xsh) {
        try {
            xsh.close();
        } catch (IOException ignored) {
            // The run's outcome is decided; xs_close's failure is not reported by the C tools either.
        }
    }

    private boolean require(Mode wanted) {
        if (mode != wanted) throw usage();
        return true;
    }

    private void output(byte[] b) {
        output.writeBytes(b);
    }

    private void output(String s) {
        output.writeBytes(ToolIo.bytes(s));
    }

    private int perform(List<String> operands, XsClient xsh, int tx) {
        if (mode == Mode.LS && operands.isEmpty()) operands = List.of("/");
        for (int i = 0; i < operands.size(); ) {
            String key = operands.get(i);
            switch (mode) {
                case READ -> {
                    byte[] val;
                    try {
                        val = xsh.read(tx, key);
                    } catch (IOException e) {
                        io.warnx("couldn't read path " + key);
                        return 1;
                    }
                    if (prefix) output(key + ": ");
                    if (raw) {
                        output(val);
                    } else {
                        output(ValueEscaping.sanitise(val));
                        output("\n");
                    }
                    i++;
                }
                case WRITE -> {
                    byte[] spec = ToolIo.bytes(operands.get(i + 1));
                    byte[] val = raw ? spec : ValueEscaping.unsanitise(spec);
                    try {
                        xsh.write(tx, key, val);
                    } catch (IOException e) {
                        io.warnx("could not write path " + key);
                        return 1;
                    }
                    i += 2;
                }
                case RM -> {
                    if (rm(xsh, tx, key)) return 1;
                    i++;
                }
                case EXISTS -> {
                    try {
                        xsh.read(tx, key);
                    } catch (IOException e) {
                        return 1;
                    }
                    i++;
                }
                case LIST -> {
                    List<String> list;
                    try {
                        list = xsh.directory(tx, key);
                    } catch (IOException e) {
                        io.warnx("could not list path " + key);
                        return 1;
                    }
                    for (String name : list) {
                        if (prefix) output(key + "/");
                        output(name + "\n");
                    }
                    i++;
                }
                case LS -> {
                    doLs(xsh, key, 0);
                    io.out.flush();
                    i++;
                }
                case CHMOD -> {
                    List<String> specs = operands.subList(i + 1, operands.size());
                    doChmod(xsh, tx, key, parsePerms(specs), upto, recurse);
                    i = operands.size();
                }
                case WATCH -> {
                    doWatch(xsh, operands);
                    i = operands.size();
                }
            }
        }
        return 0;
    }

    /** rm, and with -t also every parent that is left empty and without a value, up to the root. */
    private boolean rm(XsClient xsh, int tx, String path) {
        while (true) {
            try {
                xsh.rm(tx, path);
            } catch (IOException e) {
                io.warnx("could not remove path " + path);
                return true;
            }
            if (!tidy) return false;
            int slash = path.lastIndexOf('/');
            if (slash < 0) return false;
            path = path.substring(0, slash);
            try {
                if (xsh.read(tx, path).length != 0 || !xsh.directory(tx, path).isEmpty()) return false;
            } catch (IOException e) {
                return false;
            }
        }
    }

    private void doLs(XsClient h, String path, int depth) {
        List<String> names;
        try {
            names = h.directory(path);
        } catch (IOException e) {
            // A node that disappears while recursing is skipped silently.
            if (depth > 0 && e instanceof XenStoreException xe && xe.error() == XsError.ENOENT) return;
            throw io.err(1, "xs_directory (" + path + ")", e);
        }
        PrintStream out = io.out;
        for (String name : names) {
            String newpath = path + (path.endsWith("/") ? "" : "/") + name;
            int linewid = 0;
            if (showWholePath) {
                out.writeBytes(ToolIo.bytes(newpath));
            } else {
                for (; linewid < depth; linewid++) out.write(' ');
                linewid += printPrecision(out, ToolIo.bytes(name), maxWidth - TAG_LEN - linewid);
            }
            byte[] val = null;
            if (ToolIo.bytes(newpath).length < LS_PATH_MAX) {
                try {
                    val = h.read(newpath);
                } catch (IOException e) {
                    val = null;
                }
            }
            if (val == null) {
                out.writeBytes(ToolIo.bytes(":\n"));
            } else {
                byte[] shown = ValueEscaping.sanitise(val);
                // The C code compares the raw length but prints the escaped text.
                if (maxWidth >= 0 && maxWidth < (long) linewid + val.length + TAG_LEN) {
                    out.writeBytes(ToolIo.bytes(" = \""));
                    printPrecision(out, shown, maxWidth - TAG_LEN - linewid);
                    out.writeBytes(ToolIo.bytes("\\...\""));
                } else {
                    out.writeBytes(ToolIo.bytes(" = \""));
                    out.writeBytes(shown);
                    out.write('"');
                    linewid += 5 + shown.length; // the bytes printf(" = \"%s\"") wrote
                    if (prefix) {
                        out.write(' ');
                        for (linewid++; linewid < Math.min(desiredWidth, maxWidth); linewid++) {
                            out.write((linewid & 1) != 0 ? '.' : ' ');
                        }
                    }
                }
            }
            if (prefix) {
                try {
                    XsPerms perms = h.getPerms(newpath);
                    StringBuilder sb = new StringBuilder("  (");
                    for (int i = 0; i < perms.size(); i++) {
                        if (i > 0) sb.append(',');
                        sb.append(perms.entries().get(i));
                    }
                    out.writeBytes(ToolIo.bytes(sb.append(')').toString()));
                } catch (IOException e) {
                    io.warn("\ncould not access permissions for " + name, e);
                }
            }
            out.write('\n');
            doLs(h, newpath, depth + 1);
        }
    }

    /** printf("%.*s"): at most {@code precision} bytes, all of them if the precision is negative. */
    private static int printPrecision(PrintStream out, byte[] s, int precision) {
        int n = precision < 0 ? s.length : Math.min(precision, s.length);
        out.write(s, 0, n);
        return n;
    }

    /** Permission arguments as the C code reads them: a letter, then atoi() of the rest. */
    private List<CPerm> parsePerms(List<String> specs) {
        List<CPerm> perms = new ArrayList<>();
        for (String spec : specs) {
            char letter = spec.isEmpty() ? '\0' : spec.charAt(0);
            if ("nrwb".indexOf(letter) < 0 || letter == '\0') {
                throw io.errx(1, "Invalid permission specification: '" + letter + "'");
            }
            perms.add(new CPerm(letter, CNumbers.atoi(spec.substring(1))));
        }
        return perms;
    }

    /** A permission as struct xs_permissions holds it: the id is printed with "%i", so it may be negative. */
    private record CPerm(char letter, int id) {
        @Override
        public String toString() {
            return letter + Integer.toString(id);
        }
    }

    private void doChmod(XsClient xsh, int tx, String path, List<CPerm> perms, boolean upto, boolean recurse) {
        if (path.isEmpty()) return;
        try {
            setPerms(xsh, tx, path, perms);
        } catch (IOException e) {
            throw io.err(1, "Error occurred setting permissions on '" + path + "'", e);
        }
        if (upto) {
            int slash = path.lastIndexOf('/');
            if (slash < 0) throw io.errx(1, "Unable to locate path separator '/' in '" + path + "'");
            doChmod(xsh, tx, path.substring(0, slash), perms, true, false);
        }
        if (recurse) {
            List<String> children;
            try {
                children = xsh.directory(tx, path);
            } catch (IOException e) {
                return;
            }
            for (String child : children) {
                doChmod(xsh, tx, truncate(path + "/" + child, CHMOD_PATH_MAX - 1), perms, false, true);
            }
        }
    }

    /** SET_PERMS with the entries exactly as the C tool formats them; the daemon judges their validity. */
    private static void setPerms(XsClient xsh, int tx, String path, List<CPerm> perms) throws IOException {
        List<String> parts = new ArrayList<>();
        parts.add(path);
        perms.forEach(p -> parts.add(p.toString()));
        xsh.call(XsType.SET_PERMS, tx, Payloads.strings(parts.toArray(String[]::new)));
    }

    private static String truncate(String s, int maxBytes) {
        byte[] b = ToolIo.bytes(s);
        return b.length <= maxBytes ? s : new String(b, 0, maxBytes, StandardCharsets.UTF_8);
    }

    private void doWatch(XsClient xsh, List<String> keys) {
        LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
        for (String w : keys) {
            try {
                xsh.watch(w, w, (path, token) -> events.add(path));
            } catch (IOException e) {
                throw io.errx(1, "Unable to add watch on " + w + "\n");
            }
        }
        for (int count = 0; nrWatches == -1 || count < nrWatches; count++) {
            String path = nextEvent(xsh, events);
            if (path == null) continue; // xs_read_watch failed: the C loop counts it and goes on
            io.out.writeBytes(ToolIo.bytes(path + "\n"));
            io.out.flush();
        }
    }

    /** Blocks for the next event; null once the connection is gone (as xs_read_watch returns NULL). */
    private static String nextEvent(XsClient xsh, LinkedBlockingQueue<String> events) {
        try {
            while (true) {
                String path = events.poll(200, TimeUnit.MILLISECONDS);
                if (path != null) return path;
                if (!xsh.isOpen()) return events.poll();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
