package org.jxen.hypervisor.process;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.SelectableChannel;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.HypercallException;

/**
 * What xenstored does in dom0 with gntdev, evtchn and libxenctrl: map a guest's page, bind and signal its event
 * channel, read a domain's state, hear of VIRQ_DOM_EXC. A daemon in its own process reaches dom0 through the
 * host's device socket ({@link Dom0DeviceClient}); one inside the host's process calls dom0 directly
 * ({@link Dom0DeviceService#local}), with no socket round trip on the path of every guest request.
 */
public interface DeviceAccess extends AutoCloseable {
    /** What dom0 tells the daemon. Called on the daemon's loop; should only post work. */
    interface Listener {
        void event(int port);

        void domainsChanged();
    }

    /** A guest page mapped into this process; {@code arena} is null when the mapping is dom0's own. */
    record MappedPage(int handle, MemorySegment page, Arena arena) {}

    /** A domain's state as INFO reports it: null state for a domain that does not exist. */
    record Info(DomainState state, int reason) {}

    void setListener(Listener l);

    /**
     * The channel the listener's events arrive on, to register with the daemon's selector ({@link #readEvents}
     * when it is readable); null when they are handed to the loop's executor directly.
     */
    SelectableChannel channel();

    /** The channel is readable: hands every event that arrived to the listener. EOF: the host is gone. */
    void readEvents() throws IOException;

    /** Maps {@code ref} of {@code domid}'s grant table read-write (gntdev). */
    MappedPage map(int domid, int ref) throws IOException, HypercallException;

    void unmap(MappedPage p) throws IOException, HypercallException;

    /** EVTCHNOP_bind_interdomain on dom0's side; the new port's events come to the listener. */
    int bind(int domid, int port) throws IOException, HypercallException;

    void unbind(int port) throws IOException, HypercallException;

    /** EVTCHNOP_send on a port this daemon bound. */
    void notify(int port) throws IOException;

    Info info(int domid) throws IOException, HypercallException;

    /** From now on VIRQ_DOM_EXC reaches {@link Listener#domainsChanged}. */
    void watchDomainChanges() throws IOException, HypercallException;

    @Override
    void close() throws IOException;
}
