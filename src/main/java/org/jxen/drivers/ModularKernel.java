package org.jxen.drivers;

import org.jxen.drivers.console.ConsoleFront;
import org.jxen.drivers.exec.GuestExec;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelLog;
import org.jxen.kernel.StandardKernel;

/**
 * The guest kernel xl boots: the standard kernel with its log on the Xen console ring (hvc_xen), plus the
 * driver modules named in its arguments (xl.cfg's drivers), and always the {@code exec} module (xl exec).
 */
public final class ModularKernel extends StandardKernel {
    /** How long shutdown waits for xenconsoled to take the last lines (it may not be running). */
    private static final long CONSOLE_FLUSH_MS = 5000;

    private ConsoleFront console;

    @Override
    protected void attachConsole(Hypercalls hc, KernelLog log) {
        console = ConsoleFront.attach(hc, log);
    }

    @Override
    protected void detachConsole() {
        if (console == null) return;
        try {
            console.flush(CONSOLE_FLUSH_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        console.close();
    }

    @Override
    protected void run(Kernel kernel, String[] modules) throws Exception {
        boolean exec = false;
        for (String name : modules) {
            kernel.printk("modprobe " + name);
            kernel.load(DriverModules.create(name));
            exec |= name.equals(GuestExec.NAME);
        }
        // Always on: xl exec's channel (data/exec), which runs dd, sha256sum and blkbench on the guest's disks.
        if (!exec) kernel.load(new GuestExec());
    }
}
