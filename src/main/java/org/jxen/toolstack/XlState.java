package org.jxen.toolstack;

import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.ShutdownReason;

/**
 * xl list's State column: six flags r(unning) b(locked) p(aused) s(hutdown) c(rashed) d(ying), '-' when unset.
 * jxen's hypervisor does not tell a running vCPU from a blocked one, so a live domain shows as running.
 */
public final class XlState {
    private XlState() {}

    public static String flags(DomainInfo d) {
        char[] f = "------".toCharArray();
        switch (d.state()) {
            case RUNNING -> f[0] = 'r';
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
