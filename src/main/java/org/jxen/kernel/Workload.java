package org.jxen.kernel;

import java.time.Duration;

/**
 * A module whose work survives a suspend, a save and a migration: what Linux's process freezer and the saved
 * memory give a process. At suspend the kernel freezes it ({@link #freeze}: it stops at its next safe point, as a
 * task enters the refrigerator), records {@link #state()} in its kernel record, and then either thaws it (the
 * suspend was cancelled, or the domain resumed in place) or, in a kernel started for the restored domain, hands
 * the recorded state to a fresh instance ({@link #restore}) before its init, so it continues where it stopped.
 */
public interface Workload extends KernelModule {
    /** Stops at the next safe point; true once stopped, false if it did not within {@code timeout}. */
    boolean freeze(Duration timeout) throws InterruptedException;

    /** Continues after a {@link #freeze}. */
    void thaw();

    /** What it needs to continue (called while frozen); by default nothing, for a task that starts afresh. */
    default byte[] state() {
        return new byte[0];
    }

    /** Called before {@link #init} in a restored kernel with the {@link #state()} recorded at suspend. */
    default void restore(byte[] state) {}

    /** The domain is gone while frozen (saved or migrated away): end without touching any device. */
    void abandon();
}
