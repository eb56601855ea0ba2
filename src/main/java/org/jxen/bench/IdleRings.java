package org.jxen.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.HypercallException;
import org.jxen.toolstack.Host;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;

/** The two ways the bench gets idle guest rings: real domains of a jxen host, or C xenstored's fake ones. */
final class IdleRings {
    private IdleRings() {}

    /**
     * Domains of a jxen host: each created with a few pages (its xenstore page granted to dom0 and an unbound
     * port, as every domain) and introduced; the host's xenstored maps the page and binds the port, as for a
     * guest, and nobody ever writes the ring. Released and destroyed on close.
     */
    static final class OnHost implements IdleLoad.Rings {
        private static final int PAGES = 4;
        private final Host host;
        private final List<Integer> domids = new ArrayList<>();

        OnHost(Host host) {
            this.host = host;
        }

        @Override
        public int open(int n) throws IOException {
            DomainControl ctl = host.dom0().domainControl();
            try {
                for (int i = 0; i < n; i++) {
                    int domid = ctl.createDomain(PAGES, 1);
                    domids.add(domid);
                    DomainInfo info = ctl.info(domid);
                    host.xenstore().introduce(domid, DomainLayout.XENSTORE_FRAME, info.xenstorePort());
                }
            } catch (HypercallException e) {
                throw new IOException("idle domain " + (domids.size() + 1) + " of " + n + ": " + e.getMessage(), e);
            }
            return domids.size();
        }

        /**
         * Releases all, then destroys all: a destroy raises VIRQ_DOM_EXC, on which xenstored asks the host about
         * every domain still introduced, so destroying each right after its release cost O(N) each.
         */
        @Override
        public void close() throws IOException {
            DomainControl ctl = host.dom0().domainControl();
            IOException first = null;
            for (int domid : domids) {
                try {
                    host.xenstore().release(domid);
                } catch (IOException e) {
                    if (first == null) first = new IOException("releasing idle domain " + domid + ": " + e.getMessage(), e);
                }
            }
            for (int domid : domids) {
                try {
                    ctl.destroy(domid);
                } catch (HypercallException e) {
                    if (first == null) first = new IOException("destroying idle domain " + domid + ": " + e.getMessage(), e);
                }
            }
            domids.clear();
            if (first != null) throw first;
        }
    }

    /**
     * Domains 1..N introduced to C xenstored under tools/fakexen, which "maps" each ring as a private zeroed
     * page and binds a port that never fires: the daemon holds N ring connections as it would on Xen. It
     * accepts only domains FAKEXEN_DOMIDS names (start it with FAKEXEN_DOMIDS=0-N).
     */
    static final class Fake implements IdleLoad.Rings {
        private final Path socket;
        private int introduced;

        Fake(Path socket) {
            this.socket = socket;
        }

        @Override
        public int open(int n) throws IOException {
            // Pipelined: a C daemon with thousands of idle clients takes tens of milliseconds per round trip.
            try (BenchConnection admin = BenchConnection.open(socket)) {
                try {
                    admin.callAllOk(n, i -> XsMessage.of(XsType.INTRODUCE, 0, 0,
                            Payloads.strings(Integer.toString(i + 1), "1", "1")), 64);
                } catch (IOException e) {
                    release(admin, n);
                    throw new IOException(e.getMessage() + " (a C xenstored under tools/fakexen takes the domains "
                            + "FAKEXEN_DOMIDS names, e.g. 0-" + n + ")", e);
                }
            }
            introduced = n;
            return n;
        }

        @Override
        public void close() throws IOException {
            try (BenchConnection admin = BenchConnection.open(socket)) {
                release(admin, introduced);
            }
            introduced = 0;
        }

        private static void release(BenchConnection admin, int upTo) throws IOException {
            admin.callAll(upTo, i -> XsMessage.of(XsType.RELEASE, 0, 0, Payloads.strings(Integer.toString(i + 1))), 64);
        }
    }
}
