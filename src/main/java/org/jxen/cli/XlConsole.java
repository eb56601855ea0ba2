package org.jxen.cli;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.jxen.toolstack.ControlClient.ConsoleSession;
import org.jxen.toolstack.ControlException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code xl console DOM}: the guest's console, both ways, as xl's (xenconsole): what it showed so far and its
 * output as it comes on stdout, every key of stdin typed on it (into the console ring's {@code in} buffer,
 * where the guest's console shell reads it). Ctrl-] (0x1d) leaves with status 0, as does the domain's death;
 * stdin at end of file only stops the typing, the output is followed on. A terminal is put in raw mode
 * ({@link RawTerminal}) and restored on the way out; a pipe works as is, which is how tests drive it.
 */
@Command(name = "console", mixinStandardHelpOptions = true,
        description = "Attach to a domain's console: its output, your keys to its shell (Ctrl-] leaves).")
final class XlConsole implements Callable<Integer> {
    /** Ctrl-]: xl's escape character. */
    static final int ESCAPE = 0x1d;

    @ParentCommand
    XlCommand xl;
    @Spec
    CommandSpec spec;
    @Parameters(paramLabel = "DOM")
    String dom;
    @Option(names = "--no-follow", description = "Print what is there and exit (as dmesg DOM).")
    boolean noFollow;
    @Option(names = "-t", paramLabel = "TYPE", description = "Console type: pv (a PV guest's only one).")
    String type;
    @Option(names = "-n", paramLabel = "NUM", description = "Console number: 0 (a guest's only one).")
    String num;
    @Option(names = "-e", paramLabel = "ESCAPE", description = "Escape character: C, or ^C for Ctrl-C (default ^]).")
    String escape;

    @Override
    public Integer call() {
        // xl's main_console: pv, serial or vuart, else its line. A PV guest has console 0 of type pv and no other
        // (no emulated serial, no secondary consoles): asking for one is refused rather than waited for.
        if (type != null && !List.of("pv", "serial", "vuart").contains(type)) {
            return XlCommand.fail(spec, "console type supported are: pv, serial, vuart");
        }
        if ((type != null && !type.equals("pv")) || (num != null && parseLeadingInt(num) != 0)) {
            try {
                xl.control().call("list " + dom); // find_domain first: an unknown DOM is its own error
            } catch (ControlException | IOException e) {
                return XlCommand.fail(spec, e.getMessage());
            }
        }
        if (type != null && !type.equals("pv")) {
            return XlCommand.fail(spec, "domain " + dom + " is a PV guest: it has no " + type + " console (use -t pv)");
        }
        if (num != null && parseLeadingInt(num) != 0) {
            return XlCommand.fail(spec, "domain " + dom + " has no console " + parseLeadingInt(num) + ": a PV guest's console is 0");
        }
        int esc = ESCAPE;
        if (escape != null) {
            // xenconsole's -e: ^X is Ctrl-X, else the one character itself.
            if (escape.length() == 2 && escape.charAt(0) == '^') esc = escape.charAt(1) & 0x1f;
            else if (escape.length() == 1) esc = escape.charAt(0);
            else return XlCommand.fail(spec, "Invalid escape argument");
        }
        if (noFollow) return XlCommand.request(xl, spec, "dmesg " + dom);
        return attach(xl, spec, dom, esc);
    }

    /** C's atoi: the leading digits (after an optional sign), 0 when there are none. */
    private static int parseLeadingInt(String s) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\s*([-+]?[0-9]{1,9})").matcher(s);
        return m.lookingAt() ? Integer.parseInt(m.group(1)) : 0;
    }

    /** Attaches to {@code dom}'s console until Ctrl-] or the domain's end; also {@code xl create -c}. */
    static int attach(XlCommand xl, CommandSpec spec, String dom) {
        return attach(xl, spec, dom, ESCAPE);
    }

    /** As {@link #attach(XlCommand, CommandSpec, String)}, leaving on {@code escape} instead of Ctrl-]. */
    static int attach(XlCommand xl, CommandSpec spec, String dom, int escape) {
        ConsoleSession session;
        try {
            session = xl.control().console(dom);
        } catch (ControlException | IOException e) {
            return XlCommand.fail(spec, e.getMessage());
        }
        RawTerminal raw = RawTerminal.enter();
        try (session) {
            CompletableFuture<String> done = new CompletableFuture<>();
            PrintWriter out = spec.commandLine().getOut();
            daemon("xl-console-out", () -> copyOutput(session, out, done));
            daemon("xl-console-in", () -> copyKeys(new FileInputStream(FileDescriptor.in), session, done, escape));
            String error = done.get();
            out.flush();
            return error == null ? 0 : XlCommand.fail(spec, error);
        } catch (IOException e) {
            return 0; // closing a connection the host already closed
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (ExecutionException e) {
            return XlCommand.fail(spec, String.valueOf(e.getCause().getMessage()));
        } finally {
            if (raw != null) raw.restore();
        }
    }

    /** The guest's bytes to stdout, decoded as UTF-8 across reads; done (null: no error) when the host closes. */
    private static void copyOutput(ConsoleSession session, PrintWriter out, CompletableFuture<String> done) {
        try (Reader r = new InputStreamReader(session.output(), StandardCharsets.UTF_8)) {
            char[] buf = new char[4096];
            int n;
            while ((n = r.read(buf)) > 0) {
                out.write(buf, 0, n);
                out.flush();
            }
            done.complete(null);
        } catch (IOException e) {
            done.complete(done.isDone() ? null : "the console connection to the host broke: " + e.getMessage());
        }
    }

    /** stdin to the guest up to the escape character (Ctrl-]), which ends the session; at end of file the output is still followed. */
    static void copyKeys(InputStream keys, ConsoleSession session, CompletableFuture<String> done, int escape) {
        byte[] buf = new byte[1024];
        try {
            int n;
            while ((n = keys.read(buf)) > 0) {
                int esc = indexOf(buf, n, escape);
                if (esc > 0) session.type(buf, 0, esc);
                if (esc >= 0) {
                    done.complete(null);
                    return;
                }
                session.type(buf, 0, n);
            }
        } catch (IOException e) {
            // The host closed the console (the domain died): the output side reports that.
        }
    }

    private static int indexOf(byte[] b, int n, int value) {
        for (int i = 0; i < n; i++) if (b[i] == value) return i;
        return -1;
    }

    private static void daemon(String name, Runnable r) {
        Thread.ofPlatform().daemon().name(name).start(r);
    }
}
