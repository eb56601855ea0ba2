package org.jxen.kernel.userland;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The freezer of {@code xl exec}'s freezable commands (Linux's freeze_processes for the guest's tasks): freezing
 * waits until every one of them has parked at a safe point or ended; thawing lets them go on; abandoning (the
 * domain is gone) ends the parked ones.
 */
final class Freezer {
    private boolean freezing;
    private boolean abandoned;
    private int running;
    private int parked;

    /** A freezable command starts: freezes wait for it from now on. */
    synchronized void started() {
        running++;
    }

    /** It ended (its status written): freezes no longer wait for it. */
    synchronized void ended() {
        running--;
        notifyAll();
    }

    synchronized boolean freezing() {
        return freezing;
    }

    /** The safe point: returns at once unless freezing; else runs {@code onPark} and parks until thawed. */
    synchronized void safePoint(Runnable onPark) throws InterruptedException {
        if (abandoned) throw new Job.Abandoned();
        if (!freezing) return;
        onPark.run();
        parked++;
        notifyAll();
        try {
            while (freezing && !abandoned) wait();
        } finally {
            parked--;
        }
        if (abandoned) throw new Job.Abandoned();
    }

    /** True once every freezable command is parked or ended; false if one did not within {@code timeout}. */
    synchronized boolean freeze(Duration timeout) throws InterruptedException {
        freezing = true;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (parked < running) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        }
        return true;
    }

    synchronized void thaw() {
        freezing = false;
        notifyAll();
    }

    synchronized void abandon() {
        abandoned = true;
        notifyAll();
    }
}
