package org.jxen.toolstack;

import java.util.List;

/**
 * What a guest is booted from (the subset of xl.cfg the host needs): name, memory in MiB, vCPUs, the kernel
 * class a guest runs and its arguments, and whether it runs in the host's JVM or in its own process.
 */
public record GuestConfig(String name, int memoryMiB, int vcpus, String kernel, List<String> kernelArgs,
        boolean ownProcess) {
    public static final String STANDARD_KERNEL = "org.jxen.kernel.StandardKernel";
    /** The standard kernel plus the driver modules named in {@code kernelArgs}. */
    public static final String MODULAR_KERNEL = "org.jxen.drivers.ModularKernel";

    public GuestConfig {
        if (name == null || name.isEmpty() || !name.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException("bad guest name: " + name);
        }
        if (memoryMiB <= 0) throw new IllegalArgumentException("memory must be positive");
        kernelArgs = List.copyOf(kernelArgs);
    }

    /** A guest running the modular kernel without modules: XenStore, control/shutdown and the console. */
    public static GuestConfig of(String name, boolean ownProcess) {
        return new GuestConfig(name, 16, 1, MODULAR_KERNEL, List.of(), ownProcess);
    }

    public int memoryPages() {
        return memoryMiB * 256;
    }
}
