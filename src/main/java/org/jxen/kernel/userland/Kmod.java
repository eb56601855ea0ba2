package org.jxen.kernel.userland;

import java.io.PrintStream;
import java.util.List;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.ModuleException;

/**
 * kmod's insmod, rmmod and lsmod, on the kernel they run in: the same arguments, messages and exit statuses as
 * Debian's kmod, with a module's name where Linux takes its {@code .ko} file (a trailing {@code .ko} is
 * dropped, so {@code insmod mydevicefront.ko} works as in the blog).
 */
final class Kmod {
    /** lsmod's header, as kmod prints it. */
    static final String LSMOD_HEADER = "Module                  Size  Used by";

    private Kmod() {}

    /** insmod NAME [KEY=VALUE ...]. */
    static int insmod(Kernel kernel, List<String> args, PrintStream err) {
        if (args.isEmpty()) {
            err.println("insmod: ERROR: missing filename.");
            return 1;
        }
        String name = moduleName(args.getFirst());
        try {
            kernel.insmod(name, args.subList(1, args.size()));
            return 0;
        } catch (ModuleException e) {
            err.println("insmod: ERROR: could not insert module " + args.getFirst() + ": " + e.getMessage());
            return 1;
        }
    }

    /** rmmod NAME...: each is removed in turn; the status is 1 if any of them could not be. */
    static int rmmod(Kernel kernel, List<String> args, PrintStream err) {
        if (args.isEmpty()) {
            err.println("rmmod: ERROR: missing module name.");
            return 1;
        }
        int failed = 0;
        for (String a : args) {
            try {
                kernel.rmmod(moduleName(a));
            } catch (ModuleException e) {
                err.println("rmmod: ERROR: " + e.getMessage());
                failed++;
            }
        }
        return failed == 0 ? 0 : 1;
    }

    /**
     * lsmod: kmod's header, then one line per loadable module loaded, the last loaded first: its name, its size
     * (0: a Java module has no image of its own in the domain's memory) and its use count (0: nothing holds a
     * jxen module). Built-in modules are not listed, as on Linux.
     */
    static int lsmod(Kernel kernel, List<String> args, PrintStream out, PrintStream err) {
        if (!args.isEmpty()) {
            err.println("lsmod: ERROR: too many arguments provided.");
            return 1;
        }
        out.println(LSMOD_HEADER);
        for (String name : kernel.lsmod()) out.println(String.format("%-19s %8d  %d", name, 0, 0));
        return 0;
    }

    private static String moduleName(String arg) {
        String base = arg.substring(arg.lastIndexOf('/') + 1);
        return base.endsWith(".ko") ? base.substring(0, base.length() - 3) : base;
    }
}
