package org.jxen.toolstack;

import org.jxen.drivers.console.ConsoleFront;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelLog;
import org.jxen.kernel.StandardKernel;

/** A guest that prints {@code args[0]} numbered lines: several rings' worth, so the console front must wait for room. */
public final class ChattyKernel extends StandardKernel {
    private ConsoleFront console;

    @Override
    protected void attachConsole(Hypercalls hc, KernelLog log) {
        console = ConsoleFront.attach(hc, log);
    }

    @Override
    protected void detachConsole() {
        try {
            console.flush(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        console.close();
    }

    @Override
    protected void run(Kernel kernel, String[] args) {
        int n = Integer.parseInt(args[0]);
        for (int i = 0; i < n; i++) kernel.printk(String.format("chatty line %05d ä", i));
        kernel.printk("chatty done");
    }
}
