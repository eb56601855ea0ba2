package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.ShutdownReason;
import org.junit.jupiter.api.Test;

/** xl list's six state letters for each state the hypervisor reports. */
class XlStateTest {
    private static DomainInfo info(DomainState s, ShutdownReason r, boolean blocked) {
        return new DomainInfo(1, s, r, 4096, 1, java.util.BitSet.valueOf(new long[] {1}), false, 1, 2, blocked);
    }

    @Test
    void lettersAsXlPrintsThem() {
        assertThat(XlState.flags(info(DomainState.RUNNING, null, false))).isEqualTo("r-----");
        assertThat(XlState.flags(info(DomainState.RUNNING, null, true))).isEqualTo("-b----");
        assertThat(XlState.flags(info(DomainState.PAUSED, null, false))).isEqualTo("--p---");
        assertThat(XlState.flags(info(DomainState.SHUTDOWN, ShutdownReason.POWEROFF, false))).isEqualTo("---s--");
        assertThat(XlState.flags(info(DomainState.SHUTDOWN, ShutdownReason.REBOOT, false))).isEqualTo("---sr-");
        assertThat(XlState.flags(info(DomainState.SHUTDOWN, ShutdownReason.SUSPEND, false))).isEqualTo("---ss-");
        assertThat(XlState.flags(info(DomainState.SHUTDOWN, ShutdownReason.CRASH, false))).isEqualTo("---sc-");
        assertThat(XlState.flags(info(DomainState.SHUTDOWN, ShutdownReason.WATCHDOG, false))).isEqualTo("---sw-");
        assertThat(XlState.flags(info(DomainState.DYING, null, false))).isEqualTo("-----d");
    }
}
