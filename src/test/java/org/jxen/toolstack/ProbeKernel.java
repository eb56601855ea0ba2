package org.jxen.toolstack;

import java.io.IOException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.kernel.StandardKernel;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.client.XsClient;

/**
 * A guest kernel for host tests: once XenStore is up it tries what a guest may and may not do, and reports
 * each outcome (OK or the Xen error name) under its own {@code data/} directory for the test to read.
 * Argument: the domain id of another guest to snoop on.
 */
public final class ProbeKernel extends StandardKernel {
    @Override
    protected void run(org.jxen.kernel.Kernel kernel, String[] args) throws Exception {
        Hypercalls hc = kernel.hypercalls();
        XsClient xs = kernel.xenstore();
        String other = args.length > 0 ? args[0] : "0";
        report(xs, "own-name", () -> xs.readString("name"));
        report(xs, "dom0-name", () -> xs.readString("/local/domain/0/name"));
        report(xs, "other-name", () -> xs.readString("/local/domain/" + other + "/name"));
        report(xs, "write-dom0", () -> {
            xs.write("/local/domain/0/evil", "1");
            return "OK";
        });
        report(xs, "write-home", () -> {
            xs.write("name", "renamed");
            return "OK";
        });
        report(xs, "introduce", () -> {
            xs.introduce(hc.domid() + 1, 1, 1);
            return "OK";
        });
        report(xs, "flood", () -> {
            try {
                for (int i = 0; i < 100_000; i++) xs.write("data/flood/n" + i, "x");
                return "OK";
            } finally {
                // Give the quota back, or the reports below could not be written either.
                xs.rm("data/flood");
            }
        });
        xs.write("data/probe-done", "1");
    }

    private interface Probe {
        String run() throws IOException;
    }

    private static void report(XsClient xs, String name, Probe p) throws IOException {
        String outcome;
        try {
            outcome = p.run();
        } catch (XenStoreException e) {
            outcome = e.error().name();
        }
        xs.write("data/result-" + name, outcome);
    }
}
