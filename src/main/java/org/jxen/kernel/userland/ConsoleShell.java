package org.jxen.kernel.userland;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;
import org.jxen.kernel.Terminal;
import org.jxen.kernel.Tty;

/**
 * A shell on the guest's console (module {@code console-shell}, built into a guest kernel), as a small
 * distribution's init starts one on hvc0 ({@code hvc0::askfirst:-/bin/sh}): it waits for Enter first, silently,
 * so the console shows only the kernel log until someone attaches with {@code xl console} and presses it (a
 * guest nobody talks to has the same console log as without a shell), then reads
 * command lines through the console's line discipline ({@link Tty}) and runs the guest's userland
 * ({@link Utilities}: the commands of {@code xl exec}) with its output on the console. {@code help} lists
 * them, {@code exit} (or ^D) ends the session, and the shell asks for Enter again ({@link #ASK}). A kernel
 * whose console takes no input has no shell.
 */
public final class ConsoleShell implements KernelModule {
    public static final String NAME = "console-shell";
    public static final String ASK = "Please press Enter to activate this console.";

    private Thread thread;
    private Tty tty;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.GUEST;
    }

    @Override
    public void init(Kernel kernel) {
        Terminal console = kernel.console();
        if (console == null) return;
        tty = new Tty(console);
        // Virtual: it waits for input nearly all the time, and a host may run many in-process guests.
        thread = Thread.ofVirtual().name("d" + kernel.domid() + "-sh").start(() -> run(kernel));
        tty.open();
    }

    @Override
    public void exit(Kernel kernel) throws InterruptedException {
        if (thread == null) return;
        tty.close();
        thread.interrupt();
        thread.join(5000);
    }

    /** The domain died: the shell goes with it (it would otherwise wait for a line for ever, holding the kernel). */
    @Override
    public void killed(Kernel kernel) {
        if (thread == null) return;
        tty.close();
        thread.interrupt();
    }

    /** The domain's name from its XenStore home, as a guest's hostname is set at install; else domN. */
    private static String hostname(Kernel kernel) {
        try {
            String name = kernel.xenstore().readOrNull("name");
            if (name != null && !name.isEmpty()) return name;
        } catch (java.io.IOException e) {
            // no name to read: the fallback
        }
        return "dom" + kernel.domid();
    }

    private void run(Kernel kernel) {
        PrintStream out = tty.out();
        String host = null;
        try {
            while (true) {
                if (tty.readLine() != null) {
                    // Asked at the first login, not at boot: a thousand guests booting need not wait on it.
                    if (host == null) host = hostname(kernel);
                    session(kernel, host, out);
                }
                out.print("\n" + ASK + "\n");
                out.flush();
            }
        } catch (InterruptedException e) {
            // the kernel is stopping
        }
    }

    /** One login: prompt, read, run, until exit or ^D. */
    private void session(Kernel kernel, String host, PrintStream out) throws InterruptedException {
        while (true) {
            out.print("root@" + host + ":~# ");
            out.flush();
            String line = tty.readLine();
            if (line == null) {
                out.println("logout");
                return;
            }
            List<String> argv = words(line);
            if (argv == null) {
                out.println("sh: syntax error: unterminated quoted string");
                continue;
            }
            if (argv.isEmpty()) continue;
            switch (argv.getFirst()) {
                case "exit", "logout" -> {
                    return;
                }
                case "help" -> help(out);
                default -> {
                    try {
                        Utilities.run(kernel, argv, out, out);
                    } catch (RuntimeException e) {
                        out.println(argv.getFirst() + ": " + e);
                    }
                }
            }
            out.flush();
        }
    }

    static void help(PrintStream out) {
        out.println("Commands (those of xl exec, and the shell's own):");
        out.println("  insmod NAME [KEY=VALUE ...]    load a module        rmmod NAME...   unload modules");
        out.println("  lsmod                          loaded modules       dmesg           the kernel log");
        out.println("  dd if= of= [bs= count= ...]    copy (/dev/xvdX or host files)");
        out.println("  sha256sum FILE...              checksums            blkbench ...    block benchmark");
        out.println("  cat FILE...   ls [DIR...]      /proc/partitions, /proc/modules, /proc/xen/capabilities,");
        out.println("                                 /sys/bus/xen/devices/*/{nodename,devtype,state}, /dev");
        out.println("  help   exit (or ^D)");
        out.println("Leave xl console with Ctrl-].");
    }

    /** The words of a command line: split on blanks, '...' and "..." quote; null for an unterminated quote. */
    static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean inWord = false;
        char quote = 0;
        for (char c : line.toCharArray()) {
            if (quote != 0) {
                if (c == quote) quote = 0; else w.append(c);
            } else if (c == '\'' || c == '"') {
                quote = c;
                inWord = true;
            } else if (c == ' ' || c == '\t') {
                if (inWord) out.add(w.toString());
                w.setLength(0);
                inWord = false;
            } else {
                w.append(c);
                inWord = true;
            }
        }
        if (quote != 0) return null;
        if (inWord) out.add(w.toString());
        return out;
    }
}
