package org.jxen.hypervisor.process;


import org.jxen.hypervisor.Hypercalls;

/** Returns (a clean poweroff) or panics, as args[0] says. */
public final class ExitKernel implements GuestKernel {
    @Override
    public void boot(Hypercalls hc, String[] args) {
        if (args[0].equals("panic")) throw new IllegalStateException("deliberate panic");
    }
}
