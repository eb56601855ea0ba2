package org.jxen.kernel;

import java.util.Locale;

/**
 * A kernel module (insmod/rmmod): a driver registers with a bus in {@link #init} and unregisters in {@link #exit}.
 *
 * <p>Modules are found with {@link java.util.ServiceLoader}: a jar names its modules in
 * {@code META-INF/services/org.jxen.kernel.KernelModule}, one class per line, and each class has a public
 * no-argument constructor that only sets defaults. A kernel makes a fresh instance for each load, and
 * {@link ModuleDirectory} makes one throwaway instance of each class to learn its {@link #name} and
 * {@link #builtInto} roles (properties of the class, asked once), so a constructor must not register anything.
 */
public interface KernelModule {
    /**
     * The module's name, as insmod, rmmod, lsmod and the kernel command line's {@code NAME.param} spell it. By
     * default its class's simple name in lower case ({@code MyDeviceFront}: {@code mydevicefront}), as a Linux
     * module is named after its object file (KBUILD_MODNAME), not in its source; a module named otherwise
     * overrides this.
     */
    default String name() {
        return getClass().getSimpleName().toLowerCase(Locale.ROOT);
    }

    /**
     * Whether a kernel of {@code role} has this module built in ({@code =y} in a distribution's Xen PV kernel
     * config: the standard frontends in a guest's, the standard backends in dom0's) rather than loadable
     * ({@code =m}). Built-in modules are initialised at boot, take their parameters from the kernel command line
     * only, are not listed by lsmod and cannot be removed.
     */
    default boolean builtInto(KernelRole role) {
        return false;
    }

    /**
     * Sets one of the module's parameters (Linux's module_param) before {@link #init}: insmod's {@code KEY=VALUE}
     * or the kernel command line's {@code NAME.KEY=VALUE}. {@code value} is null for a bare {@code KEY} (a
     * boolean set to true). Throws {@link UnknownParameterException} for a key the module does not have (the
     * default: no parameters) and {@link IllegalArgumentException} for a value it does not take; a refused
     * value leaves the parameter as it was. {@link ModuleParameters} parses values as Linux's param_set_* do.
     */
    default void parameter(String key, String value) {
        throw new UnknownParameterException(key);
    }

    void init(Kernel kernel) throws Exception;

    void exit(Kernel kernel) throws Exception;

    /**
     * The domain died under the module (destroyed while running in its host's process): free what lives outside
     * the domain's memory (threads, descriptors, interfaces) and talk to nobody, as every peer is gone. Default:
     * nothing to free.
     */
    default void killed(Kernel kernel) {}
}
