package org.jxen.bench;

import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.EventHandler;
import org.jxen.hypervisor.Hypercalls;

/**
 * The receiving guest's upcall: counts every delivery into its {@link BenchPage} and, while the host commands
 * {@link BenchPage#ECHO}, sends the event straight back on the same port (the pong of the ping-pong).
 */
final class EchoHandler implements EventHandler {
    private final Hypercalls hc;
    private final BenchPage page;
    private long deliveries;

    EchoHandler(Hypercalls hc, BenchPage page) {
        this.hc = hc;
        this.page = page;
    }

    @Override
    public void onEvent(int port) {
        page.count(++deliveries);
        if (page.command() != BenchPage.ECHO) return;
        try {
            hc.send(port);
        } catch (HypercallException e) {
            // The host sees the chain stop and reports the round trip as lost.
            System.err.println("bench echo: send failed: " + e);
        }
    }
}
