package org.jxen.xenbus;

import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.xenstore.client.XsClient;

/**
 * One domain's xenbus (Linux's drivers/xen/xenbus core): its XenStore connection, its hypercalls, and the
 * frontend and backend buses drivers register with. A module's init registers its driver on
 * {@link #frontend()} (in a guest) or {@link #backend()} (in dom0); its exit unregisters it.
 *
 * <p>The kernel above owns the log and the page allocator; xenbus only prints to one and takes pages from the
 * other, so it knows nothing of modules or of the kernel itself.
 */
public final class Xenbus {
    private final Hypercalls hc;
    private final XsClient xs;
    private final PageAllocator pages;
    private final Consumer<String> printk;
    private final XenbusResources resources = new XenbusResources();
    private final DeferredGrants deferredGrants = new DeferredGrants(this);
    private final Object busLock = new Object();
    private XenbusBus frontendBus;
    private XenbusBus backendBus;

    public Xenbus(Hypercalls hc, XsClient xs, PageAllocator pages, Consumer<String> printk) {
        this.hc = hc;
        this.xs = xs;
        this.pages = pages;
        this.printk = printk;
    }

    public int domid() {
        return hc.domid();
    }

    public Hypercalls hypercalls() {
        return hc;
    }

    public XsClient xenstore() {
        return xs;
    }

    /** A line in the kernel log. */
    public void printk(String line) {
        printk.accept(line);
    }

    /** The grants, ports, mappings and pages this domain's xenbus devices hold. */
    public XenbusResources resources() {
        return resources;
    }

    /** A zeroed page of this domain's memory for a shared ring (Linux's alloc_page), counted as the devices'. */
    public MemorySegment allocPage() {
        MemorySegment page = pages.alloc();
        resources.pages.incrementAndGet();
        return page;
    }

    public void freePage(MemorySegment page) {
        pages.free(page);
        resources.pages.decrementAndGet();
    }

    int frameOf(MemorySegment page) {
        return pages.frameOf(page);
    }

    DeferredGrants deferredGrants() {
        return deferredGrants;
    }

    /** The bus watching {@code /local/domain/<self>/device/<class>/<id>}, created on first use. */
    public XenbusBus frontend() {
        return bus(XenbusBus.Kind.FRONTEND);
    }

    /** The bus watching {@code /local/domain/<self>/backend/<class>/<frontend domid>/<id>}, created on first use. */
    public XenbusBus backend() {
        return bus(XenbusBus.Kind.BACKEND);
    }

    private XenbusBus bus(XenbusBus.Kind kind) {
        synchronized (busLock) {
            if (kind == XenbusBus.Kind.FRONTEND) {
                if (frontendBus == null) frontendBus = new XenbusBus(this, kind);
                return frontendBus;
            }
            if (backendBus == null) backendBus = new XenbusBus(this, kind);
            return backendBus;
        }
    }
}
