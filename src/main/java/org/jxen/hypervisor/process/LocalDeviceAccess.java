package org.jxen.hypervisor.process;

import java.nio.channels.SelectableChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;

/**
 * A daemon in the host's own process: dom0's hypercalls made directly, and each event handed to the listener on
 * dom0's event thread, as the device socket's session would have sent it (the listener must take any thread).
 */
final class LocalDeviceAccess implements DeviceAccess {
    private static final Listener NOBODY = new Listener() {
        @Override
        public void event(int port) {}

        @Override
        public void domainsChanged() {}
    };

    private final Hypercalls dom0;
    private final Runnable onClose;
    private final Set<Integer> ports = ConcurrentHashMap.newKeySet();
    private volatile Listener listener = NOBODY;
    private volatile boolean wantsDomExc;

    LocalDeviceAccess(Hypercalls dom0, Runnable onClose) {
        this.dom0 = dom0;
        this.onClose = onClose;
    }

    /** VIRQ_DOM_EXC reached dom0. */
    void domainsChanged() {
        if (wantsDomExc) listener.domainsChanged();
    }

    @Override
    public void setListener(Listener l) {
        listener = l;
    }

    @Override
    public SelectableChannel channel() {
        return null;
    }

    @Override
    public void readEvents() {
        // Events are handed over as they come.
    }

    @Override
    public MappedPage map(int domid, int ref) throws HypercallException {
        try {
            GrantMapping m = dom0.mapGrant(domid, ref, false);
            return new MappedPage(m.handle(), m.page(), null);
        } catch (GrantException e) {
            throw new HypercallException(e.errno(), e.getMessage());
        }
    }

    @Override
    public void unmap(MappedPage p) throws HypercallException {
        try {
            dom0.unmapGrant(p.handle());
        } catch (GrantException e) {
            throw new HypercallException(e.errno(), e.getMessage());
        }
    }

    @Override
    public int bind(int domid, int port) throws HypercallException {
        int local = dom0.bindInterdomain(domid, port);
        ports.add(local);
        dom0.onEvent(local, p -> listener.event(p));
        return local;
    }

    @Override
    public void unbind(int port) throws HypercallException {
        if (!ports.remove(port)) throw new HypercallException(org.jxen.hypervisor.Errno.EINVAL, "not this daemon's port " + port);
        dom0.onEvent(port, null);
        dom0.closePort(port);
    }

    @Override
    public void notify(int port) {
        if (!ports.contains(port)) return;
        try {
            dom0.send(port);
        } catch (HypercallException e) {
            // The guest's end closed meanwhile.
        }
    }

    @Override
    public Info info(int domid) {
        try {
            DomainInfo i = dom0.domainControl().info(domid);
            return new Info(i.state(), i.shutdownReason() == null ? -1 : i.shutdownReason().code);
        } catch (HypercallException gone) {
            return new Info(null, -1);
        }
    }

    @Override
    public void watchDomainChanges() {
        wantsDomExc = true;
    }

    /** As closing /dev/xen/evtchn: every port this daemon bound is closed. */
    @Override
    public void close() {
        onClose.run();
        for (int port : Set.copyOf(ports)) {
            try {
                unbind(port);
            } catch (HypercallException e) {
                // Closed already (the guest died).
            }
        }
    }
}
