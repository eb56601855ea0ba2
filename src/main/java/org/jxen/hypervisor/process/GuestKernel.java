package org.jxen.hypervisor.process;

import org.jxen.hypervisor.Hypercalls;

/**
 * The code a guest process runs, named on GuestMain's command line and built with its public no-argument
 * constructor. Returning from {@link #boot} powers the domain off; throwing crashes it.
 */
public interface GuestKernel {
    void boot(Hypercalls hc, String[] args) throws Exception;
}
