package org.jxen.hypervisor;

/**
 * What a domain's kernel is told at boot (Xen's start_info): where its files are and which reserved frames and
 * ports the toolstack set up. Frame 0 is the console page (grant ref 0), frame 1 the xenstore page (grant ref 1);
 * both refs are granted to dom0 at creation, and both ports are unbound ports offered to dom0.
 *
 * @param memoryPages the domain's size in frames (max_pages: what it was built with)
 * @param nrPages start_info's nr_pages: the frames it holds as its kernel starts; the domain builder left the rest
 *     unpopulated ({@link DomainControl#unpopulate}), where the kernel's memory map says
 */
public record DomainLayout(int domid, int serial, int memoryPages, boolean privileged, int xenstorePort,
        int consolePort, int nrPages) {
    public static final int CONSOLE_FRAME = 0;
    public static final int XENSTORE_FRAME = 1;
    public static final int CONSOLE_REF = 0;
    public static final int XENSTORE_REF = 1;
}
