package org.jxen.kernel;

/**
 * Why a kernel would not load or remove a module, with the error number Linux's init_module/delete_module
 * return for it; {@link #getMessage()} is what kmod's insmod and rmmod print after the module's name.
 */
public final class ModuleException extends Exception {
    /** What went wrong. */
    public enum Reason {
        /** No module of that name in the kernel's module directory (ENOENT). */
        NOT_FOUND,
        /** The module directory names a class that is missing or no module (ENOEXEC). */
        INVALID_FORMAT,
        /** A module of that name is loaded or built in already (EEXIST). */
        EXISTS,
        /** A parameter the module does not have (ENOENT, "Unknown parameter"). */
        UNKNOWN_PARAMETER,
        /** A value the module's parameter does not take (EINVAL). */
        INVALID_PARAMETERS,
        /** The module's init failed; the module is not loaded. */
        INIT_FAILED,
        /** rmmod of a built-in module. */
        BUILTIN,
        /** rmmod of a module that is not loaded. */
        NOT_LOADED,
        /** The module's exit failed; it is removed all the same. */
        EXIT_FAILED
    }

    private final Reason reason;
    private final String module;

    public ModuleException(Reason reason, String module, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.module = module;
    }

    public ModuleException(Reason reason, String module, String message) {
        this(reason, module, message, null);
    }

    public Reason reason() {
        return reason;
    }

    public String module() {
        return module;
    }
}
