package org.jxen.xenstored;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.channels.SelectionKey;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.process.DeviceAccess;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstored.engine.DomainHooks;
import org.jxen.xenstored.transport.EventLoop;
import org.jxen.xenstored.transport.RingConnection;

/**
 * What C xenstored does in dom0 with gntdev, evtchn and libxenctrl, done through the host's dom0 device socket
 * from the daemon's own process: on INTRODUCE map the guest's xenstore page (grant ref 1), bind its event
 * channel and serve the ring; on RELEASE the reverse; on VIRQ_DOM_EXC release domains that died and announce
 * those that shut down. Everything runs on the daemon's event loop, which also waits on the device socket.
 */
public final class GuestRings implements DomainHooks, EventLoop.Handler, DeviceAccess.Listener {
    private static final Logger LOG = System.getLogger("jxen.xenstored");

    private record Attached(DeviceAccess.MappedPage page, int localPort, RingConnection ring) {}

    private final XenStoredServer server;
    private final DeviceAccess devices;
    private final Map<Integer, Attached> attached = new HashMap<>();
    /** Read by {@link #event}, which a daemon in the host's process gets on dom0's event thread. */
    private final Map<Integer, Attached> byPort = new java.util.concurrent.ConcurrentHashMap<>();
    private final Runnable hostGone;
    /** A {@link #checkDomains} is queued on the loop and has not started yet. */
    private final java.util.concurrent.atomic.AtomicBoolean checkPosted = new java.util.concurrent.atomic.AtomicBoolean();

    private GuestRings(XenStoredServer server, DeviceAccess devices, Runnable hostGone) {
        this.server = server;
        this.devices = devices;
        this.hostGone = hostGone;
    }

    /**
     * Connects the daemon to the host's device socket: sets itself as the domain hooks, attaches the rings of
     * the domains the recovered state names, and follows VIRQ_DOM_EXC. {@code hostGone} runs if the socket
     * closes (the host died: the daemon has nothing left to serve).
     */
    public static GuestRings start(XenStoredServer server, DeviceAccess devices, Runnable hostGone)
            throws IOException {
        GuestRings g = new GuestRings(server, devices, hostGone);
        devices.setListener(g);
        server.setDomainHooks(g);
        server.loop().call(() -> {
            try {
                devices.watchDomainChanges();
                if (devices.channel() != null) devices.channel().register(server.loop().selector(), SelectionKey.OP_READ, g);
            } catch (IOException | HypercallException e) {
                throw new IllegalStateException("dom0 device socket: " + e.getMessage(), e);
            }
            return null;
        });
        server.reattachIntroduced();
        // Domains that died while no daemon ran.
        g.domainsChanged();
        return g;
    }

    @Override
    public void introduced(int domid, long gfn, int port) throws XenStoreException {
        Attached old = attached.remove(domid);
        if (old != null) {
            // A second INTRODUCE with the same page re-binds the event channel only.
            byPort.remove(old.localPort);
            unbind(old.localPort);
            Attached again = new Attached(old.page, bind(domid, port), old.ring);
            attached.put(domid, again);
            byPort.put(again.localPort, again);
            // An event between the bind and byPort's entry found nothing to wake: look at the ring once.
            again.ring.notifyFromGuest();
            return;
        }
        DeviceAccess.MappedPage page;
        try {
            page = devices.map(domid, DomainLayout.XENSTORE_REF);
        } catch (IOException | HypercallException e) {
            throw new XenStoreException(XsError.EINVAL, "cannot map d" + domid + "'s xenstore page: " + e.getMessage());
        }
        int local;
        try {
            local = bind(domid, port);
        } catch (XenStoreException e) {
            unmap(page);
            throw e;
        }
        RingConnection ring = server.attachGuestRing(domid, page.page(), () -> notify(local));
        Attached a = new Attached(page, local, ring);
        attached.put(domid, a);
        byPort.put(local, a);
        ring.notifyFromGuest();
    }

    private int bind(int domid, int port) throws XenStoreException {
        try {
            return devices.bind(domid, port);
        } catch (IOException | HypercallException e) {
            throw new XenStoreException(XsError.EINVAL, "cannot bind d" + domid + " port " + port + ": " + e.getMessage());
        }
    }

    @Override
    public void released(int domid) {
        Attached a = attached.remove(domid);
        if (a == null) return;
        byPort.remove(a.localPort);
        a.ring.close();
        unbind(a.localPort);
        // After the ring's close has run on the loop: nothing touches the page any more.
        server.loop().execute(() -> unmap(a.page));
    }

    private void notify(int local) {
        try {
            devices.notify(local);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "notify port {0}: {1}", String.valueOf(local), e.getMessage());
        }
    }

    private void unbind(int local) {
        try {
            devices.unbind(local);
        } catch (IOException | HypercallException e) {
            LOG.log(Level.DEBUG, "unbind port {0}: {1}", String.valueOf(local), e.getMessage());
        }
    }

    private void unmap(DeviceAccess.MappedPage page) {
        try {
            devices.unmap(page);
        } catch (IOException | HypercallException e) {
            LOG.log(Level.DEBUG, "unmap: {0}", e.getMessage());
        }
    }

    // ---- from the device socket (loop thread) ----------------------------------------------------------------

    @Override
    public void ready(SelectionKey key) throws IOException {
        devices.readEvents();
    }

    @Override
    public void failed(Exception e) {
        LOG.log(Level.ERROR, "xenstored: the host's dom0 device socket failed ({0}): the host is gone", e.getMessage());
        hostGone.run();
    }

    /** Any thread: the loop's for the device socket, dom0's event thread for a daemon in the host's process. */
    @Override
    public void event(int port) {
        Attached a = byPort.get(port);
        if (a != null) a.ring.notifyFromGuest();
    }

    /** VIRQ_DOM_EXC: checked in a task of its own (this may be called from inside a request's hooks). */
    @Override
    public void domainsChanged() {
        // Coalesced: a burst of destroys is one look at the domains, not one per destroy (each a look at all).
        if (checkPosted.compareAndSet(false, true)) server.loop().execute(this::checkDomains);
    }

    /** As C xenstored's domain_cleanup: dead domains are released, shut-down ones announced once. */
    private void checkDomains() {
        checkPosted.set(false);
        List<Integer> introduced = server.onLoop(e -> e.introducedDomains());
        List<DeviceAccess.Info> infos;
        try {
            infos = devices.infos(introduced);
        } catch (IOException | HypercallException e) {
            LOG.log(Level.WARNING, "xenstored: the domains' states: {0}", e.getMessage());
            return;
        }
        for (int i = 0; i < introduced.size(); i++) {
            int domid = introduced.get(i);
            DeviceAccess.Info info = infos.get(i);
            if (info.state() == null || info.state() == DomainState.DYING) {
                server.onLoop(e -> {
                    e.releaseDomain(domid);
                    return null;
                });
            } else if (info.state() == DomainState.SHUTDOWN) {
                server.onLoop(e -> {
                    e.domainShutdown(domid);
                    return null;
                });
            }
        }
    }
}
