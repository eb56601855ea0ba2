package org.jxen.xenbus;

/**
 * Entry points for drivers: a module's init registers its driver on its kernel's frontend bus (in a guest) or
 * backend bus (in dom0), and its exit unregisters it.
 *
 * <pre>{@code
 * public void init(Kernel k) throws Exception { Xenbus.frontend(k).register(driver); }
 * public void exit(Kernel k) { Xenbus.frontend(k).unregister(driver); }
 * }</pre>
 */
public final class Xenbus {
    private Xenbus() {}

    /** The bus watching {@code /local/domain/<self>/device/<class>/<id>}. */
    public static XenbusBus frontend(Kernel kernel) {
        return kernel.bus(XenbusBus.Kind.FRONTEND);
    }

    /** The bus watching {@code /local/domain/<self>/backend/<class>/<frontend domid>/<id>}. */
    public static XenbusBus backend(Kernel kernel) {
        return kernel.bus(XenbusBus.Kind.BACKEND);
    }
}
