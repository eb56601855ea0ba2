package org.jxen.toolstack;

import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.ShutdownReason;

/**
 * xl list's State column, as xl_info.c prints it: r(unning) b(locked) p(aused) s(hutdown), then the shutdown
 * reason's letter ({@code -rscw} for poweroff, reboot, suspend, crash, watchdog: {@code c} for a crash), then
 * d(ying); '-' when unset. r and b come from the domain's vCPU: r while it runs guest code (its event thread
 * delivers, or a command runs on it), b while it waits for an event.
 */
public final class XlState {
    private static final String REASON_LETTERS = "-rscw";

    private XlState() {}

    public static String flags(DomainInfo d) {
        char[] f = "------".toCharArray();
        switch (d.state()) {
            case RUNNING -> {
                if (d.blocked()) f[1] = 'b';
                else f[0] = 'r';
            }
            case PAUSED -> f[2] = 'p';
            case SHUTDOWN -> {
                f[3] = 's';
                ShutdownReason r = d.shutdownReason();
                if (r != null && r.code < REASON_LETTERS.length()) f[4] = REASON_LETTERS.charAt(r.code);
            }
            case DYING -> f[5] = 'd';
        }
        return new String(f);
    }
}
