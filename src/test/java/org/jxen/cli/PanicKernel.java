package org.jxen.cli;

import org.jxen.drivers.console.HvcConsole;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelLog;
import org.jxen.kernel.StandardKernel;

/**
 * A guest kernel (for {@code kernel = "JAR"} with a GuestKernel service) that dies while booting: its console
 * up, a few lines, then a driver's init fails, as a distribution kernel missing its root device would.
 */
public final class PanicKernel extends StandardKernel {
    private final HvcConsole console = new HvcConsole();

    @Override
    protected void attachConsole(Hypercalls hc, KernelLog log) throws Exception {
        console.attach(hc, log);
    }

    @Override
    protected void detachConsole() {
        try {
            console.detach(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    protected void run(Kernel kernel, String[] args) {
        kernel.printk("Kernel command line: " + String.join(" ", args));
        kernel.printk("VFS: Cannot open root device \"xvda1\"");
        throw new IllegalStateException("VFS: Unable to mount root fs on unknown-block(0,0)");
    }
}
