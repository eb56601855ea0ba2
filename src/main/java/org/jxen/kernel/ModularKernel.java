package org.jxen.kernel;

import java.util.ArrayList;
import java.util.List;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.xenstore.client.XsClient;

/**
 * The guest kernel xl boots, like a distribution's Xen PV kernel: the standard kernel with its log on the
 * console ({@link KernelConsole}, hvc_xen), the modules built into a guest kernel (the standard frontends, the
 * exec agent), and the modules of its command line's {@code modules_load=} (xl.cfg's {@code drivers}).
 *
 * <p>Its arguments are the kernel command line ({@link CommandLine}: xl.cfg's {@code extra}). Modules and
 * consoles come from the booting thread's context class loader: the class path of a guest process (with the
 * jar of its {@code kernel =} on it), or the loader the host gives an in-process guest's thread.
 */
public final class ModularKernel extends StandardKernel {
    /** How long shutdown waits for xenconsoled to take the last lines (it may not be running). */
    private static final long CONSOLE_FLUSH_MS = 5000;

    private final List<KernelConsole> consoles = new ArrayList<>();
    private ModuleDirectory directory;

    private ModuleDirectory directory() {
        if (directory == null) {
            ClassLoader l = Thread.currentThread().getContextClassLoader();
            directory = l != null ? ModuleDirectory.of(l) : ModuleDirectory.classPath();
        }
        return directory;
    }

    @Override
    protected void attachConsole(Hypercalls hc, KernelLog log) throws Exception {
        for (KernelConsole c : directory().services(KernelConsole.class)) {
            c.attach(hc, log);
            consoles.add(c);
        }
    }

    @Override
    protected void detachConsole() {
        for (KernelConsole c : consoles) {
            try {
                c.detach(CONSOLE_FLUSH_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    protected Kernel newKernel(Hypercalls hc, XsClient xs, KernelLog log, CommandLine cmdline) {
        Kernel kernel = new Kernel(hc, xs, log, directory(), cmdline);
        // The first console that takes input is the kernel's /dev/console, where the console shell runs.
        for (KernelConsole c : consoles) {
            if (c.terminal() != null) {
                kernel.setConsole(c.terminal());
                break;
            }
        }
        return kernel;
    }

    @Override
    protected void run(Kernel kernel, String[] args) throws Exception {
        // newKernel gave the kernel these same args, parsed: parsed once per boot.
        CommandLine cmdline = kernel.commandLine();
        kernel.printk("Kernel command line: " + cmdline);
        kernel.boot(KernelRole.GUEST, cmdline);
    }
}
