package org.jxen.hypervisor;

import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * The FIFO ABI's hypercalls (EVTCHNOP_init_control, expand_array, set_priority) and EVTCHNOP_reset, run under
 * the hypervisor's lock, with Xen's checks and errnos (xen/common/event_fifo.c, event_channel.c).
 */
final class FifoOps {
    private FifoOps() {
    }

    /**
     * init_control: the first call switches the domain to FIFO (ports already bound keep their pending state
     * for when their words appear, and get the default priority); each vCPU names its control block once.
     */
    static int initControl(Domain d, long gfn, int offset, int vcpu) throws HypercallException {
        if (vcpu < 0 || vcpu >= d.vcpus) throw new HypercallException(Errno.ENOENT, "vcpu " + vcpu);
        if (offset < 0 || offset > GrantEntry.PAGE_SIZE - EventWord.CONTROL_BLOCK_SIZE) {
            throw new HypercallException(Errno.EINVAL, "control block offset " + offset + " crosses the page");
        }
        if ((offset & 7) != 0) throw new HypercallException(Errno.EINVAL, "control block offset " + offset);
        if (d.controlGfns != null && d.controlGfns[vcpu] >= 0) {
            throw new HypercallException(Errno.EINVAL, "vcpu " + vcpu + " has a control block");
        }
        checkGfn(d, gfn);
        if (d.controlGfns == null) {
            d.controlGfns = new int[d.vcpus];
            Arrays.fill(d.controlGfns, -1);
            // setup_ports: what is pending on the 2-level ABI is kept for the port's word (moved, not copied, as
            // the event thread also drains the 2-level bitmap for sends that raced with this switch).
            for (int port = 1; port < Math.min(d.portsEnd, EventPage.MAX_PORTS); port++) {
                if (PortTable.state(d.ports.get(port)) == ChannelState.CLOSED) continue;
                d.fifoArea.setPriority(port, EventWord.PRIORITY_DEFAULT);
                if (d.events.takePending(port)) d.fifoArea.save(port);
            }
        }
        d.controlGfns[vcpu] = (int) gfn;
        if (vcpu == 0) {
            // Only vCPU 0's queues are used: every port notifies vCPU 0, as Xen's default notify_vcpu_id.
            d.fifoArea.setControl((int) gfn, offset);
            d.fifoArea.setGeneration(++d.fifoGenerations);
        } else if (d.fifoArea.controlGfn() < 0) {
            d.fifoArea.setGeneration(++d.fifoGenerations);
        }
        return EventWord.LINK_BITS;
    }

    /** expand_array: one more page of event words; events saved for its ports are linked now. */
    static void expandArray(Domain d, long gfn) throws HypercallException {
        if (d.controlGfns == null) throw new HypercallException(Errno.EOPNOTSUPP, "not on the FIFO ABI");
        int slot = d.fifoArea.arrayPages();
        if (slot >= EventWord.MAX_ARRAY_PAGES) {
            throw new HypercallException(Errno.ENOSPC, "event array is full (" + slot + " pages)");
        }
        checkGfn(d, gfn);
        d.fifoArea.addArrayPage((int) gfn);
        int first = slot * EventWord.WORDS_PER_PAGE;
        // A word of the saved bitmap at a time: a new page's ports have almost never been sent to.
        for (int base = first; base < first + EventWord.WORDS_PER_PAGE; base += 64) {
            for (long bits = d.fifoArea.takeSavedWord(base); bits != 0; bits &= bits - 1) {
                d.fifo.raise(base + Long.numberOfTrailingZeros(bits));
            }
        }
    }

    static void setPriority(Domain d, int port, int priority) throws HypercallException {
        if (port < 0 || port >= d.maxPorts() || PortTable.state(d.ports.get(port)) == ChannelState.CLOSED) {
            throw new HypercallException(Errno.EINVAL, "port " + port);
        }
        if (d.controlGfns == null) throw new HypercallException(Errno.ENOSYS, "no priorities on the 2-level ABI");
        if (priority < 0 || priority > EventWord.PRIORITY_MIN) {
            throw new HypercallException(Errno.EINVAL, "priority " + priority);
        }
        // Future events go to the new queue; one already linked stays where it is (Xen does the same).
        d.fifoArea.setPriority(port, priority);
    }

    /** evtchn_reset: every port closed, then back to the 2-level ABI. */
    static void reset(Domain d, IntFunction<Domain> lookup) {
        ChannelOps.closeAll(d, lookup);
        if (d.controlGfns == null) return;
        d.controlGfns = null;
        d.fifoArea.setGeneration(0);
        d.fifoArea.clear();
    }

    /** map_guest_page: the frame must be one of the domain's own. */
    private static void checkGfn(Domain d, long gfn) throws HypercallException {
        if (gfn < 0 || gfn >= d.pages) throw new HypercallException(Errno.EINVAL, "gfn " + gfn);
    }
}
