package org.jxen.toolstack;

import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.ShutdownReason;

/**
 * xl list's State column: six flags r(unning) b(locked) p(aused) s(hutdown) c(rashed) d(ying), '-' when unset.
 * A jxen domain has one vCPU, its event thread, so a running domain shows exactly one of r and b.
 */
public final class XlState {
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
                if (d.shutdownReason() == ShutdownReason.CRASH) f[4] = 'c';
            }
            case DYING -> f[5] = 'd';
        }
        return new String(f);
    }
}
