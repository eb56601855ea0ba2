package org.jxen.drivers.net.front;

import java.io.IOException;
import org.jxen.drivers.net.NetLink;
import org.jxen.hypervisor.Errno;
import org.jxen.kernel.Kernel;
import org.jxen.xenbus.FrontendDriver;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenbus.XenbusException;
import org.jxen.xenbus.XenbusState;

/**
 * netfront's xenbus side (netback_changed): probe reads the mac and makes the interface; on the backend's
 * InitWait it connects and goes straight to Connected (netfront never writes Initialised); the backend's Closing
 * closes it. The interface is configured as a distribution's network configuration would: up, with the
 * toolstack's {@code mtu} and the addresses of the backend's {@code ip} node.
 */
final class NetfrontDriver extends FrontendDriver<Netfront> {
    private final NetFront.Params params;
    private final NetLink.Factory links;
    private final Kernel kernel;
    private final java.util.Set<Netfront> live = java.util.concurrent.ConcurrentHashMap.newKeySet();

    NetfrontDriver(NetFront.Params params, NetLink.Factory links, Kernel kernel) {
        super("vif", XenbusState.CONNECTED);
        this.params = params;
        this.links = links;
        this.kernel = kernel;
    }

    @Override
    protected Netfront create(XenbusDevice dev) throws IOException {
        byte[] mac = Netfront.readMac(dev);
        String node = dev.nodename();
        String name = "eth" + node.substring(node.lastIndexOf('/') + 1);
        NetLink link;
        try {
            link = links.open(name, mac);
        } catch (IOException e) {
            throw new XenbusException(Errno.EPERM, "creating interface " + name + ": " + e.getMessage(), e);
        }
        configure(dev, name);
        Netfront nf = new Netfront(dev, link, params);
        live.add(nf);
        return nf;
    }

    NetfrontCtrl ctrl(String ifname) {
        for (Netfront nf : live) if (nf.name().equals(ifname)) return nf.ctrl();
        return null;
    }

    /** The domain died: every device's threads and interface go, with no word to anyone (see Netfront.kill). */
    void killAll() {
        for (Netfront nf : live) nf.kill();
        live.clear();
    }

    /** Up, mtu, addresses: in the guest's namespace, when it has one (a test's pipe has none). */
    private void configure(XenbusDevice dev, String name) {
        if (!kernel.netns().exists()) return;
        try {
            String mtu = dev.readOrNull("mtu");
            if (mtu != null) kernel.netns().run("ip", "link", "set", name, "mtu", mtu.strip());
            kernel.netns().run("ip", "link", "set", name, "up");
            String ip = dev.xenbus().xenstore().readOrNull(dev.otherendPath() + "/ip");
            if (ip != null) {
                for (String a : ip.strip().split("\\s+")) if (!a.isEmpty()) kernel.netns().run("ip", "addr", "add", a, "dev", name);
            }
        } catch (IOException e) {
            dev.xenbus().printk("netfront " + dev.nodename() + ": configuring " + name + ": " + e.getMessage());
        }
    }

    @Override
    protected void connect(XenbusDevice dev, Netfront nf) throws Exception {
        nf.connect();
    }

    @Override
    protected void disconnect(XenbusDevice dev, Netfront nf) {
        nf.disconnect();
    }

    @Override
    protected void removed(XenbusDevice dev, Netfront nf) {
        live.remove(nf);
        nf.close();
    }
}
