package org.jxen.hypervisor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

final class InProcessFixture implements HvFixture {
    private final Hypervisor hv;
    private final Hypercalls dom0;
    private final List<Hypercalls> views = new ArrayList<>();
    private final EventAbi abi;

    InProcessFixture(Path dir, EventAbi abi) throws HypercallException {
        this.abi = abi;
        hv = new Hypervisor(dir, 64);
        dom0 = abi.apply(hv.connect(0));
    }

    @Override
    public EventAbi abi() {
        return abi;
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
        Hypercalls hc = hv.connect(domid);
        views.add(hc);
        return abi.apply(hc);
    }

    @Override
    public void close() {
        views.forEach(Hypercalls::close);
        dom0.close();
        hv.close();
    }
}
