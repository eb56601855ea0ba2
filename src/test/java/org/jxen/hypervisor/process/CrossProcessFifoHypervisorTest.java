package org.jxen.hypervisor.process;

import org.jxen.hypervisor.EventAbi;

/** The whole contract, and the cross-process tests, with every domain on the FIFO event-channel ABI. */
class CrossProcessFifoHypervisorTest extends CrossProcessHypervisorTest {
    @Override
    protected EventAbi abi() {
        return EventAbi.FIFO;
    }
}
