package org.jxen.hypervisor;

import java.nio.file.Path;

/**
 * Names of a hypervisor's shared files, in its shared-memory directory ({@code SharedMemoryDir}: tmpfs, the
 * run directory's {@code shm} symlink), and of its service socket ({@link #SOCKET}, in the run directory
 * itself). A domain's files carry its serial (unique per hypervisor
 * instance) as well as its domid, so a destroyed domain's files that mappers still hold never collide with
 * those of a new domain that got the same domid.
 */
public record RunDir(Path dir) {
    public static final String SOCKET = "hv.sock";

    public Path memory(int domid, int serial) {
        return dir.resolve("d" + domid + "." + serial + ".mem");
    }

    public Path grantTable(int domid, int serial) {
        return dir.resolve("d" + domid + "." + serial + ".gnt");
    }

    public Path events(int domid, int serial) {
        return dir.resolve("d" + domid + "." + serial + ".evt");
    }

    /** A guest session's grant-copy hypercall page; unlinked as soon as the guest has mapped it. */
    public Path hypercallPage(int domid, int serial) {
        return dir.resolve("d" + domid + "." + serial + ".hcall");
    }
}
