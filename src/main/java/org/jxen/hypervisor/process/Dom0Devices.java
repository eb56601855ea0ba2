package org.jxen.hypervisor.process;

/**
 * The protocol of dom0's device socket: what Linux gives a dom0 process through /dev/xen/gntdev and
 * /dev/xen/evtchn (map a guest's granted page, bind an interdomain channel, notify, be told of events), plus
 * the domain information C xenstored gets from libxenctrl and VIRQ_DOM_EXC, for the one dom0 process that
 * needs them: xenstored. Served by the host (dom0's kernel) with dom0's own hypercalls; what a session bound
 * or mapped is closed and unmapped when it ends, as closing the device files does.
 *
 * <pre>
 * frame   = u32 length, body[length]            big-endian, length ≤ 64 KiB
 * request = u8 op, i32 id, args...              every request but NOTIFY gets a REPLY with its id
 * op            args                  reply results
 * 1 MAP         i32 domid, ref        i32 handle, i32 frame, string file (map frame × 4096 of file yourself)
 * 2 UNMAP       i32 handle            -
 * 3 BIND        i32 domid, port       i32 local port
 * 4 UNBIND      i32 local port        -
 * 5 NOTIFY      i32 local port        (no reply)
 * 6 INFO        i32 domid             u8 state ordinal (DomainState; 255 no such domain), i32 reason or -1
 * 7 DOM_EXC     -                     -   (from now on VIRQ_DOM_EXC is forwarded as DOM_EXC)
 * from the host, any time:
 * 128 REPLY     i32 id, i32 status (0 ok, else an errno or a GNTST code), results
 * 129 EVENT     i32 local port        the guest signalled
 * 130 DOM_EXC   -                     some domain changed state
 * string  = u16 length, UTF-8 bytes
 * </pre>
 */
public final class Dom0Devices {
    static final int MAX_FRAME = 64 * 1024;
    static final int MAP = 1, UNMAP = 2, BIND = 3, UNBIND = 4, NOTIFY = 5, INFO = 6, DOM_EXC = 7;
    static final int REPLY = 128, EVENT = 129, DOM_EXC_EVENT = 130;
    /** INFO's state for a domain that does not exist. */
    public static final int NO_DOMAIN = 255;

    private Dom0Devices() {
    }
}
