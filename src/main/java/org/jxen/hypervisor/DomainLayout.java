package org.jxen.hypervisor;

/**
 * What a domain's kernel is told at boot (Xen's start_info): where its files are and which reserved frames and
 * ports the toolstack set up. Frame 0 is the console page (grant ref 0), frame 1 the xenstore page (grant ref 1);
 * both refs are granted to dom0 at creation, and both ports are unbound ports offered to dom0.
 */
public record DomainLayout(int domid, int serial, int memoryPages, boolean privileged, int xenstorePort,
        int consolePort) {
    public static final int CONSOLE_FRAME = 0;
    public static final int XENSTORE_FRAME = 1;
    public static final int CONSOLE_REF = 0;
    public static final int XENSTORE_REF = 1;
}
