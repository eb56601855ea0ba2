package org.jxen.hypervisor;

/** One implementation of the hypercall interface under test: in-process or over the service's socket. */
public interface HvFixture extends AutoCloseable {
    Hypervisor hypervisor();

    /** The event-channel ABI every domain of this fixture is switched to as it connects. */
    EventAbi abi();

    /** Dom0's view: always in-process, dom0 lives in the host. */
    Hypercalls dom0();

    /** A domain's view through the implementation under test. */
    Hypercalls connect(int domid) throws Exception;

    @Override
    void close();
}
