package org.jxen.bench;

import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.process.HypervisorService;

/** What every hypervisor measurement needs: the hypervisor, its guest-process service, dom0's view, the timings. */
record HvBenchContext(Hypervisor hv, HypervisorService service, Hypercalls dom0, double seconds,
                      double warmupSeconds) {

    void sleep(double s) throws InterruptedException {
        Thread.sleep((long) (s * 1000));
    }
}
