package org.jxen.hypervisor;

/** SHUTDOWN_* of sched.h. */
public enum ShutdownReason {
    POWEROFF(0), REBOOT(1), SUSPEND(2), CRASH(3), WATCHDOG(4);

    public final int code;

    ShutdownReason(int code) {
        this.code = code;
    }

    public static ShutdownReason of(int code) {
        for (ShutdownReason r : values()) {
            if (r.code == code) return r;
        }
        throw new IllegalArgumentException("no shutdown reason " + code);
    }
}
