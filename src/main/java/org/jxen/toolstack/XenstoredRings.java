package org.jxen.toolstack;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.Map;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstored.engine.DomainHooks;
import org.jxen.xenstored.XenStoredServer;
import org.jxen.xenstored.transport.RingConnection;

/**
 * What C xenstored does on INTRODUCE and RELEASE, done with dom0's hypercalls: map the guest's xenstore page
 * through its reserved grant (GNTTAB_RESERVED_XENSTORE, ref 1), bind the guest's event channel, and serve the
 * ring; on release, the reverse. Runs on xenstored's event loop.
 */
final class XenstoredRings implements DomainHooks {
    private static final Logger LOG = System.getLogger("jxen.host");

    private record Attached(GrantMapping page, int localPort, RingConnection ring) {}

    private final Hypercalls dom0;
    private final XenStoredServer xenstored;
    private final Map<Integer, Attached> attached = new HashMap<>();

    XenstoredRings(Hypercalls dom0, XenStoredServer xenstored) {
        this.dom0 = dom0;
        this.xenstored = xenstored;
    }

    @Override
    public void introduced(int domid, long gfn, int port) throws XenStoreException {
        Attached old = attached.remove(domid);
        if (old != null) {
            // A second INTRODUCE with the same page re-binds the event channel only.
            closePort(old.localPort);
            int local = bind(domid, port);
            attached.put(domid, new Attached(old.page, local, old.ring));
            dom0.onEvent(local, p -> old.ring.notifyFromGuest());
            return;
        }
        GrantMapping page;
        try {
            page = dom0.mapGrant(domid, DomainLayout.XENSTORE_REF, false);
        } catch (GrantException e) {
            throw new XenStoreException(XsError.EINVAL, "cannot map d" + domid + "'s xenstore page: " + e.getMessage());
        }
        int local;
        try {
            local = bind(domid, port);
        } catch (XenStoreException e) {
            unmap(page);
            throw e;
        }
        RingConnection ring = xenstored.attachGuestRing(domid, page.page(), () -> send(local));
        dom0.onEvent(local, p -> ring.notifyFromGuest());
        attached.put(domid, new Attached(page, local, ring));
    }

    private int bind(int domid, int port) throws XenStoreException {
        try {
            return dom0.bindInterdomain(domid, port);
        } catch (HypercallException e) {
            throw new XenStoreException(XsError.EINVAL, "cannot bind d" + domid + " port " + port + ": " + e.getMessage());
        }
    }

    @Override
    public void released(int domid) {
        Attached a = attached.remove(domid);
        if (a == null) return;
        a.ring.close();
        closePort(a.localPort);
        unmap(a.page);
    }

    private void send(int port) {
        try {
            dom0.send(port);
        } catch (HypercallException e) {
            LOG.log(Level.DEBUG, "notify guest port {0}: {1}", port, e.getMessage());
        }
    }

    private void closePort(int port) {
        try {
            dom0.closePort(port);
        } catch (HypercallException e) {
            LOG.log(Level.DEBUG, "close port {0}: {1}", port, e.getMessage());
        }
    }

    private void unmap(GrantMapping page) {
        try {
            dom0.unmapGrant(page.handle());
        } catch (GrantException e) {
            LOG.log(Level.WARNING, "unmap xenstore page of d{0}: {1}", page.granter(), e.getMessage());
        }
    }
}
