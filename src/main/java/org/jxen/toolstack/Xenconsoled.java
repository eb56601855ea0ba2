package org.jxen.toolstack;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.GrantException;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.ring.ByteRing;
import org.jxen.ring.ConsoleRingLayout;
import org.jxen.ring.RingIndexException;

/**
 * dom0's console daemon (xenconsoled): for each guest, map its console page through the reserved grant
 * (GNTTAB_RESERVED_CONSOLE, ref 0), bind its console event channel, and on every notification move the
 * {@code out} ring into the guest's {@link ConsoleLog}, then notify the guest that there is room again. Reads
 * run on dom0's event thread; {@link #detach} may come from any thread, so each console is locked while read.
 * Input ({@code xl console}'s keys) goes the other way, into the {@code in} ring, as xenconsoled's
 * handle_tty_read does: what does not fit waits for the guest's notification that it read some.
 */
final class Xenconsoled {
    private static final Logger LOG = System.getLogger("jxen.console");

    private final Hypercalls dom0;
    private final Path logDir;
    private final Map<Integer, Console> consoles = new HashMap<>();

    private final class Console {
        final int domid;
        final GrantMapping page;
        final ByteRing out;
        final ByteRing in;
        final ConsoleLog log;
        final byte[] buf = new byte[ConsoleRingLayout.OUT_SIZE];
        int localPort = -1;
        boolean closed;

        Console(int domid, GrantMapping page, ConsoleLog log) {
            this.domid = domid;
            this.page = page;
            ConsoleRingLayout layout = new ConsoleRingLayout(page.page());
            this.out = layout.out();
            this.in = layout.in();
            this.log = log;
        }

        synchronized void drain() {
            if (closed) return;
            int n;
            boolean any = false;
            try {
                while ((n = out.read(buf, 0, buf.length)) > 0) {
                    log.append(buf, 0, n);
                    any = true;
                }
            } catch (RingIndexException e) {
                // xenconsoled's buffer_append: a producer index more than a ring ahead is ignored, nothing read.
                LOG.log(Level.DEBUG, "d{0} console: {1}", String.valueOf(domid), e.getMessage());
            }
            if (any) notifyGuest();
            // Every notification may also say the guest read input: a writer waiting for room tries again.
            notifyAll();
        }

        private void notifyGuest() {
            if (localPort < 0) return;
            try {
                dom0.send(localPort);
            } catch (HypercallException e) {
                LOG.log(Level.DEBUG, "notify d{0} console: {1}", String.valueOf(domid), e.getMessage());
            }
        }

        /** Puts all of {@code bytes} into the in ring, waiting for room; false when the console went away. */
        synchronized boolean input(byte[] bytes) throws InterruptedException {
            int off = 0;
            while (off < bytes.length) {
                if (closed) return false;
                int n;
                try {
                    n = in.write(bytes, off, bytes.length - off);
                } catch (RingIndexException e) {
                    // The guest left the indices inconsistent: like xenconsoled, write nothing more.
                    LOG.log(Level.DEBUG, "d{0} console in: {1}", String.valueOf(domid), e.getMessage());
                    return false;
                }
                if (n > 0) {
                    off += n;
                    notifyGuest();
                } else {
                    wait();
                }
            }
            return true;
        }

        synchronized void close() {
            if (closed) return;
            drain();
            closed = true;
            notifyAll();
            if (localPort >= 0) {
                try {
                    dom0.closePort(localPort);
                } catch (HypercallException e) {
                    LOG.log(Level.DEBUG, "close d{0} console port: {1}", String.valueOf(domid), e.getMessage());
                }
            }
            try {
                dom0.unmapGrant(page.handle());
            } catch (GrantException e) {
                LOG.log(Level.WARNING, "unmap d{0} console page: {1}", String.valueOf(domid), e.getMessage());
            }
            log.end();
        }
    }

    Xenconsoled(Hypercalls dom0, Path logDir) {
        this.dom0 = dom0;
        this.logDir = logDir;
    }

    /** Starts serving a new guest's console; its log file is {@code guest-<name>.log}, appended as xenconsoled's. */
    synchronized ConsoleLog attach(int domid, String name, int remotePort) throws IOException, HypercallException {
        detach(domid);
        GrantMapping page;
        try {
            page = dom0.mapGrant(domid, DomainLayout.CONSOLE_REF, false);
        } catch (GrantException e) {
            throw new IOException("cannot map d" + domid + "'s console page: " + e.getMessage(), e);
        }
        Console c = new Console(domid, page, new ConsoleLog(logDir.resolve("guest-" + name + ".log")));
        // The log file is made beside the domain's creation, not in its way (xenconsoled makes it in its own
        // loop): a creation's time went largely to the file system's inode allocation.
        Thread.ofVirtual().name("console-log-d" + domid).start(c.log::create);
        consoles.put(domid, c);
        try {
            int local = dom0.bindInterdomain(domid, remotePort);
            synchronized (c) {
                c.localPort = local;
            }
            // The new port is pending at once, so whatever the guest wrote before we bound is read too.
            dom0.onEvent(local, p -> c.drain());
        } catch (HypercallException e) {
            detach(domid);
            throw e;
        }
        return c.log;
    }

    /** xl console's input for domain {@code domid}; false when it has no console (any more). */
    boolean input(int domid, byte[] bytes) throws InterruptedException {
        Console c;
        synchronized (this) {
            c = consoles.get(domid);
        }
        return c != null && c.input(bytes);
    }

    synchronized ConsoleLog log(int domid) {
        Console c = consoles.get(domid);
        return c == null ? null : c.log;
    }

    /** The domain is going: read what is left, unbind, unmap, and end its log. */
    void detach(int domid) {
        Console c;
        synchronized (this) {
            c = consoles.remove(domid);
        }
        if (c == null) return;
        int port;
        synchronized (c) {
            port = c.localPort;
        }
        if (port >= 0) dom0.onEvent(port, null);
        c.close();
    }

    synchronized void close() {
        for (int domid : Map.copyOf(consoles).keySet()) detach(domid);
    }
}
