package org.jxen.hypervisor.process;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;

/**
 * Tries what a guest must not do, from its own process, and writes the error codes it got into its xenstore page
 * (args: a dom0 port offered to another domain, a dom0 ref granted to another domain, a read-only ref granted
 * to us).
 */
public final class ProbeKernel implements GuestKernel {
    static final int RESULTS = 8;

    @Override
    public void boot(Hypercalls hc, String[] args) {
        int othersPort = Integer.parseInt(args[0]);
        int othersRef = Integer.parseInt(args[1]);
        int readonlyRef = Integer.parseInt(args[2]);
        MemorySegment out = hc.frame(DomainLayout.XENSTORE_FRAME);
        int[] r = new int[RESULTS];
        r[0] = grant(() -> hc.mapGrant(0, 300, true));
        r[1] = grant(() -> hc.mapGrant(0, othersRef, true));
        r[2] = grant(() -> hc.mapGrant(0, readonlyRef, false));
        r[3] = errno(() -> hc.bindInterdomain(0, othersPort));
        r[4] = errno(() -> hc.domainControl().createDomain(8, 1));
        r[5] = errno(() -> hc.send(500));
        r[6] = errno(() -> hc.bindVirq(Hypercalls.VIRQ_DOM_EXC));
        r[7] = grant(() -> hc.unmapGrant(hc.mapGrant(0, readonlyRef, true).handle()));
        for (int i = 0; i < RESULTS; i++) out.set(ValueLayout.JAVA_INT, 4L * i, r[i]);
    }

    interface Call {
        void run() throws Exception;
    }

    private static int grant(Call c) {
        try {
            c.run();
            return 0;
        } catch (GrantException e) {
            return e.status().code;
        } catch (Exception e) {
            return Integer.MIN_VALUE;
        }
    }

    private static int errno(Call c) {
        try {
            c.run();
            return 0;
        } catch (HypercallException e) {
            return e.errno().code;
        } catch (Exception e) {
            return Integer.MIN_VALUE;
        }
    }
}
