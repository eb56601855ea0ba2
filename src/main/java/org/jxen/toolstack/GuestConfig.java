package org.jxen.toolstack;

import java.nio.file.Path;
import java.util.List;
import org.jxen.kernel.ModularKernel;
import org.jxen.kernel.StandardKernel;

/**
 * What a guest is booted from (the subset of xl.cfg the host needs): name, memory in MiB, vCPUs, the kernel
 * class a guest runs and its arguments, whether it runs in the host's JVM or in its own process, and the jars
 * of its kernel image ({@code modulePath}: xl.cfg's {@code kernel =}; empty for the host's {@code --module-path}).
 */
public record GuestConfig(String name, int memoryMiB, int vcpus, String kernel, List<String> kernelArgs,
        boolean ownProcess, List<Path> modulePath) {
    public static final String STANDARD_KERNEL = StandardKernel.class.getName();
    /** The kernel xl boots: the standard kernel with the built-in modules; its arguments are its command line. */
    public static final String MODULAR_KERNEL = ModularKernel.class.getName();

    public GuestConfig {
        if (name == null || name.isEmpty() || !name.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException("bad guest name: " + name);
        }
        if (memoryMiB <= 0) throw new IllegalArgumentException("memory must be positive");
        kernelArgs = List.copyOf(kernelArgs);
        modulePath = List.copyOf(modulePath);
    }

    /** A guest of the host's module path. */
    public GuestConfig(String name, int memoryMiB, int vcpus, String kernel, List<String> kernelArgs, boolean ownProcess) {
        this(name, memoryMiB, vcpus, kernel, kernelArgs, ownProcess, List.of());
    }

    /** A guest running the modular kernel with an empty command line: its built-in modules only. */
    public static GuestConfig of(String name, boolean ownProcess) {
        return new GuestConfig(name, 16, 1, MODULAR_KERNEL, List.of(), ownProcess);
    }

    public int memoryPages() {
        return memoryMiB * 256;
    }
}
