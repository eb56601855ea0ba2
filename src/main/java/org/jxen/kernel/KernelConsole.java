package org.jxen.kernel;

import org.jxen.hypervisor.Hypercalls;

/**
 * A console the kernel log is printed on from its first line (Linux's register_console; hvc_xen in a guest).
 * Not a module: a console is built in and comes up before XenStore. {@link ModularKernel} finds the consoles
 * with {@link java.util.ServiceLoader} ({@code META-INF/services/org.jxen.kernel.KernelConsole}) and attaches
 * each at boot; a public no-argument constructor is required.
 */
public interface KernelConsole {
    /** Starts carrying every line of {@code log} printed from now on to domain {@code hc}'s console. */
    void attach(Hypercalls hc, KernelLog log) throws Exception;

    /**
     * The kernel is stopping (shutdown or panic): wait at most {@code flushMillis} for the lines still queued to
     * be taken by the other end (which may not be running), then stop.
     */
    void detach(long flushMillis) throws InterruptedException;

    /** The console as a terminal that also takes input (hvc0 with its tty), or null for an output-only one. */
    default Terminal terminal() {
        return null;
    }
}
