package org.jxen.bench;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.process.HypervisorService;

/**
 * A running guest domain for one measurement, either an in-process view ({@link #view}) or a real guest JVM
 * running {@link HvBenchKernel}; in both cases its {@link BenchPage} is the channel to the host. Closing stops the
 * guest and destroys the domain, so every measurement starts from a fresh domain.
 */
final class BenchGuest implements AutoCloseable {
    private static final long READY_TIMEOUT_SECONDS = 60;

    final int domid;
    final BenchPage page;
    private final DomainControl ctl;
    private Hypercalls view;
    private Process process;

    BenchGuest(Hypercalls dom0, int pages) throws HypercallException {
        this.ctl = dom0.domainControl();
        this.domid = ctl.createDomain(pages, 1);
        ctl.unpause(domid);
        this.page = new BenchPage(ctl.mapForeign(domid, BenchPage.FRAME));
    }

    /** The guest's kernel view in this JVM. */
    Hypercalls inProcess(Hypervisor hv) throws HypercallException {
        view = hv.connect(domid);
        return view;
    }

    /** Starts the guest JVM with {@code args} for {@link HvBenchKernel} and waits until its kernel is set up. */
    void launch(HypervisorService svc, String... args) throws IOException, HypercallException, InterruptedException {
        process = svc.launch(domid, HvBenchKernel.class.getName(), args);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_TIMEOUT_SECONDS);
        while (!page.ready()) {
            if (!process.isAlive()) throw new IOException("bench guest d" + domid + " exited with " + process.exitValue());
            if (System.nanoTime() > deadline) throw new IOException("bench guest d" + domid + " did not start");
            Thread.sleep(1);
        }
    }

    /** Waits for a loop measurement the guest publishes; false if the guest died or overran by {@code graceSeconds}. */
    boolean awaitDone(double seconds) throws InterruptedException {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (!page.done()) {
            if (process != null && !process.isAlive() && !page.done()) return false;
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(5);
        }
        return true;
    }

    @Override
    public void close() throws HypercallException, InterruptedException {
        page.command(BenchPage.STOP);
        if (process != null && !process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
        if (view != null) view.close();
        ctl.destroy(domid);
    }
}
