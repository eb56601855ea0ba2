package org.jxen.toolstack;

/**
 * What the toolstack does with a domain that shut down (xl.cfg's {@code on_poweroff}, {@code on_reboot},
 * {@code on_crash}; xl_vmcontrol.c handle_domain_death). xl's {@code coredump-*} and {@code soft-reset} are
 * refused by {@link DomainConfig}: jxen has no core dumps and no soft reset.
 */
public enum ShutdownAction {
    /** Destroy the domain. */
    DESTROY("destroy"),
    /** Destroy it and create a new one from the same configuration. */
    RESTART("restart"),
    /** Keep the shut-down domain under a new name (NAME-YYYYMMDDTHHMMZ) and start a new one under its name. */
    RENAME_RESTART("rename-restart"),
    /** Leave the domain as it is, shut down, for inspection; {@code xl destroy} removes it. */
    PRESERVE("preserve");

    public final String xlName;

    ShutdownAction(String xlName) {
        this.xlName = xlName;
    }

    /** The action xl.cfg names, or null for a name xl does not know. */
    public static ShutdownAction of(String name) {
        for (ShutdownAction a : values()) if (a.xlName.equals(name)) return a;
        return null;
    }

    /** xl's defaults (libxl_domain_config's): destroy on poweroff and crash, restart on reboot. */
    public record OnShutdown(ShutdownAction poweroff, ShutdownAction reboot, ShutdownAction crash) {
        public static final OnShutdown XL_DEFAULTS = new OnShutdown(DESTROY, RESTART, DESTROY);
        /** What a host did before configs had actions, and still does for guests booted without one. */
        public static final OnShutdown DESTROY_ALL = new OnShutdown(DESTROY, DESTROY, DESTROY);
    }
}
