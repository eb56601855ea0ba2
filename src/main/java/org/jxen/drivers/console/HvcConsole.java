package org.jxen.drivers.console;

import org.jxen.hypervisor.Hypercalls;
import org.jxen.kernel.KernelConsole;
import org.jxen.kernel.KernelLog;
import org.jxen.kernel.Terminal;

/**
 * hvc_xen as the kernel's console service ({@code META-INF/services/org.jxen.kernel.KernelConsole}): a guest's
 * {@code ModularKernel} attaches it at boot and so prints its log on the Xen console ring ({@link ConsoleFront}).
 */
public final class HvcConsole implements KernelConsole {
    private ConsoleFront console;

    @Override
    public void attach(Hypercalls hc, KernelLog log) {
        console = ConsoleFront.attach(hc, log);
    }

    @Override
    public Terminal terminal() {
        return console;
    }

    @Override
    public void detach(long flushMillis) throws InterruptedException {
        if (console == null) return;
        try {
            console.flush(flushMillis);
        } finally {
            console.close();
        }
    }
}
