package org.jxen.toolstack;

import java.nio.file.Path;
import java.util.List;
import org.jxen.kernel.ModularKernel;
import org.jxen.kernel.StandardKernel;

/**
 * What a guest is booted from (the subset of xl.cfg the host needs): name, memory in MiB, vCPUs, the kernel
 * class a guest runs and its arguments, whether it runs in the host's JVM or in its own process, the jars
 * of its kernel image ({@code modulePath}: xl.cfg's {@code kernel =}; empty for the host's {@code --module-path}),
 * its uuid (null: one made from name and domain id), maxmem in MiB (at least memory) and maxvcpus.
 */
public record GuestConfig(String name, int memoryMiB, int vcpus, String kernel, List<String> kernelArgs,
        boolean ownProcess, List<Path> modulePath, String uuid, int maxmemMiB, int maxvcpus) {
    public static final String STANDARD_KERNEL = StandardKernel.class.getName();
    /** The kernel xl boots: the standard kernel with the built-in modules; its arguments are its command line. */
    public static final String MODULAR_KERNEL = ModularKernel.class.getName();

    public GuestConfig {
        if (name == null || name.isEmpty() || !name.matches("[A-Za-z0-9_.-]+") || name.matches("[0-9]+")) {
            throw new IllegalArgumentException("bad guest name: " + name + (name != null && name.matches("[0-9]+")
                    ? " (all digits: xl would take it for a domain id)" : ""));
        }
        if (memoryMiB <= 0) throw new IllegalArgumentException("memory must be positive");
        if (maxmemMiB < memoryMiB) maxmemMiB = memoryMiB;
        if (maxvcpus < vcpus) maxvcpus = vcpus;
        kernelArgs = List.copyOf(kernelArgs);
        modulePath = List.copyOf(modulePath);
    }

    public GuestConfig(String name, int memoryMiB, int vcpus, String kernel, List<String> kernelArgs, boolean ownProcess,
            List<Path> modulePath) {
        this(name, memoryMiB, vcpus, kernel, kernelArgs, ownProcess, modulePath, null, memoryMiB, vcpus);
    }

    /** A guest of the host's module path. */
    public GuestConfig(String name, int memoryMiB, int vcpus, String kernel, List<String> kernelArgs, boolean ownProcess) {
        this(name, memoryMiB, vcpus, kernel, kernelArgs, ownProcess, List.of());
    }

    /** A guest running the modular kernel with an empty command line: its built-in modules only. */
    public static GuestConfig of(String name, boolean ownProcess) {
        return new GuestConfig(name, 16, 1, MODULAR_KERNEL, List.of(), ownProcess);
    }

    /** The same guest under another name (rename-restart keeps the old domain under a new one). */
    public GuestConfig renamed(String newName) {
        return new GuestConfig(newName, memoryMiB, vcpus, kernel, kernelArgs, ownProcess, modulePath, uuid, maxmemMiB, maxvcpus);
    }

    public int memoryPages() {
        return memoryMiB * 256;
    }

    /**
     * The domain's size, max_pages: it is built with {@code maxmem}'s frames, and its balloon driver gives back
     * those above {@code memory} (the target libxl writes) as it boots, so that it holds {@code memory} and may grow
     * to {@code maxmem} with xl mem-set, as a Xen PV guest does.
     */
    public int maxmemPages() {
        return maxmemMiB * 256;
    }
}
