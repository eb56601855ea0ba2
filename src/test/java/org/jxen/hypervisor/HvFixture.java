package org.jxen.hypervisor;

/** One implementation of the hypercall interface under test: in-process or over the service's socket. */
public interface HvFixture extends AutoCloseable {
    Hypervisor hypervisor();

    /** Dom0's view: always in-process, dom0 lives in the host. */
    Hypercalls dom0();

    /** A domain's view through the implementation under test. */
    Hypercalls connect(int domid) throws Exception;

    @Override
    void close();
}
