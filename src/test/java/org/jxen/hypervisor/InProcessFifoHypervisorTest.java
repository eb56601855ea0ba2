package org.jxen.hypervisor;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The whole contract with every domain on the FIFO event-channel ABI, in one process, and every guest's event
 * thread a virtual one sleeping through the futex pollers ({@code jxen.platformEventThreads=0}; the 2-level run,
 * {@link InProcessHypervisorTest}, keeps the default, platform threads for a host's first guests).
 */
class InProcessFifoHypervisorTest extends InProcessHypervisorTest {
    private static String before;

    @BeforeAll
    static void everyGuestEventThreadVirtual() {
        before = System.setProperty("jxen.platformEventThreads", "0");
    }

    @AfterAll
    static void restore() {
        if (before == null) {
            System.clearProperty("jxen.platformEventThreads");
        } else {
            System.setProperty("jxen.platformEventThreads", before);
        }
    }

    @Override
    protected EventAbi abi() {
        return EventAbi.FIFO;
    }
}
