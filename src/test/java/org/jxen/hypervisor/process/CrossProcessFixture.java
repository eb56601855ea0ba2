package org.jxen.hypervisor.process;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jxen.hypervisor.EventAbi;
import org.jxen.hypervisor.HvFixture;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;

/**
 * Guests connect to the service's socket exactly as GuestMain does (token, RPC control plane, own mappings of
 * the run directory's files); they live in the test JVM so that the contract needs no JVM per test. Real guest
 * processes are exercised by {@link GuestProcessTest}.
 */
final class CrossProcessFixture implements HvFixture {
    private final Hypervisor hv;
    private final HypervisorService service;
    private final Hypercalls dom0;
    private final List<Hypercalls> views = new ArrayList<>();
    private final EventAbi abi;

    CrossProcessFixture(Path dir, EventAbi abi) throws Exception {
        this.abi = abi;
        hv = new Hypervisor(dir, 64);
        service = HypervisorService.start(hv);
        dom0 = abi.apply(hv.connect(0));
    }

    @Override
    public EventAbi abi() {
        return abi;
    }

    HypervisorService service() {
        return service;
    }

    @Override
    public Hypervisor hypervisor() {
        return hv;
    }

    @Override
    public Hypercalls dom0() {
        return dom0;
    }

    @Override
    public Hypercalls connect(int domid) throws Exception {
        Hypercalls hc = GuestConnection.connect(service.socketPath(), domid, service.issueToken(domid));
        views.add(hc);
        return abi.apply(hc);
    }

    @Override
    public void close() {
        views.forEach(Hypercalls::close);
        service.close();
        dom0.close();
        hv.close();
    }
}
