package org.jxen.hypervisor;

/** The whole contract with every domain on the FIFO event-channel ABI, in one process. */
class InProcessFifoHypervisorTest extends InProcessHypervisorTest {
    @Override
    protected EventAbi abi() {
        return EventAbi.FIFO;
    }
}
