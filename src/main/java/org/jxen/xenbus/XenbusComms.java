package org.jxen.xenbus;

import java.io.IOException;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenbus.XsRingChannel;

/**
 * A guest kernel's XenStore connection (Linux's xenbus_comms): the xenstore page the toolstack set up at
 * boot, and the event channel whose other end xenstored bound after INTRODUCE.
 */
public final class XenbusComms {
    private XenbusComms() {}

    /** An {@link XsClient} speaking for this domain over its shared ring. */
    public static XsClient open(Hypercalls hc) throws IOException {
        DomainLayout layout = hc.layout();
        int port = layout.xenstorePort();
        XsRingChannel[] self = new XsRingChannel[1];
        XsRingChannel channel = new XsRingChannel(hc.frame(DomainLayout.XENSTORE_FRAME), () -> {
            try {
                hc.send(port);
            } catch (HypercallException e) {
                // This process out of descriptors or mappings: every caller would wait for a reply never coming.
                if (e.errno() == Errno.EMFILE || e.errno() == Errno.ENFILE || e.errno() == Errno.ENOMEM) {
                    self[0].fail(new IOException("cannot notify xenstored: " + e.getMessage()));
                } else {
                    // The port only goes away when the domain is torn down; the client then fails on its own.
                    System.getLogger("jxen.xenbus").log(System.Logger.Level.DEBUG, "notify xenstored: " + e);
                }
            }
        }, hc.domid());
        self[0] = channel;
        hc.onEvent(port, p -> channel.onNotify());
        return new XsClient(channel);
    }
}
