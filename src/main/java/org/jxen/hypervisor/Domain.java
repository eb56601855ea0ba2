package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/** The hypervisor's struct domain. Guarded by the {@link Hypervisor}'s lock, except the shared files' contents. */
final class Domain {
    final int id;
    final int serial;
    final int pages;
    final int vcpus;
    final boolean privileged;
    final SharedFile memory;
    final SharedFile grantFile;
    final SharedFile eventFile;
    final EventPage events;
    final FifoArea fifoArea;
    /** The domain's FIFO queues as the hypervisor raises them, through its mapping of the whole memory file. */
    final FifoReceiver fifo;
    final PortTable ports;
    /** FIFO ABI: per vCPU, the control block's gfn (-1: none); null on the 2-level ABI. */
    int[] controlGfns;
    /** Counts the domain's switches to FIFO; the current one is published in the event page. */
    int fifoGenerations;
    /** No port below this one is free (the free-port scan starts here). */
    int freeHint = 1;
    /** No port at or above this one was ever handed out (closing them all scans below it only). */
    int portsEnd = 1;
    DomainState state = DomainState.PAUSED;
    ShutdownReason shutdownReason;
    int pauseCount = 1;
    /** Unpaused at least once: its kernel may be running, and the domain builder's work on it is over. */
    boolean everRan;
    int grantFrames = GrantTable.DEFAULT_FRAMES;
    int maxGrantFrames = GrantTable.MAX_FRAMES;
    int maxMaptrackFrames = GrantTable.DEFAULT_MAPTRACK_FRAMES;
    int xenstorePort;
    int consolePort;
    int domExcPort;
    /** As mapper: maptrack handle -> what it maps. */
    final Map<Integer, MapTrack> maptrack = new HashMap<>();
    int nextHandle;
    /**
     * As granter, per ref: pins held by mappings and copies in progress (Xen's active entry pin counts). Arrays
     * indexed by ref, so the copy path pins without boxing or hashing; sized for the table as it is and replaced
     * by larger copies when it grows ({@link #growPinCounts}), under the hypervisor's lock as every pin is. Sized
     * for the largest table they were 128 KiB a domain, most of a small guest's heap.
     */
    int[] readers = new int[GrantTable.DEFAULT_FRAMES * GrantEntry.ENTRIES_PER_FRAME];
    int[] writers = new int[GrantTable.DEFAULT_FRAMES * GrantEntry.ENTRIES_PER_FRAME];
    /** As granter: frames mapped writable by another domain (grant maps, foreign maps) and how many times. */
    final Map<Integer, Integer> writableMaps = new HashMap<>();
    /** The process whose mapping of this domain's memory its kernel uses, where, and whether it tracks writes. */
    long mapperPid;
    long mapperAddress;
    boolean mapperTracked;
    /**
     * For a kernel in the hypervisor's own process: starts the write tracking of its mapping when log-dirty mode
     * is first enabled (a userfaultfd, or -errno), so that ten thousand in-process guests do not each hold one
     * for a migration that may never come. Null for a guest process, which tracks from the start.
     */
    java.util.function.IntSupplier mapperTracker;
    /** Log-dirty mode, while a live migration runs; null otherwise. */
    LogDirty logDirty;
    /**
     * Frames the domain gave back (XENMEM_decrease_reservation, its balloon driver) and has not populated again:
     * holes in its memory file. {@code pages} less these is its tot_pages.
     */
    final java.util.BitSet released = new java.util.BitSet();
    /** The vCPUs that are up (VCPUOP_up): vCPU 0 from the start, as the domain builder brings it up. */
    final java.util.BitSet vcpusUp = new java.util.BitSet();
    int releasedCount;

    Domain(RunDir runDir, int id, int serial, int pages, int vcpus) {
        this.id = id;
        this.serial = serial;
        this.pages = pages;
        this.vcpus = vcpus;
        this.privileged = id == 0;
        vcpusUp.set(0);
        SharedFile mem = null;
        SharedFile gnt = null;
        try {
            mem = new SharedFile(runDir.memory(id, serial), (long) pages * GrantEntry.PAGE_SIZE, 0);
            // The table's frames get their pages as it grows (Hypervisor.setGrantFrames), not the largest
            // table's 128 KiB at once: a thousand guests' grant files were 128 MB of /dev/shm, and zeroing them
            // was a tenth of the toolstack's time creating domains.
            gnt = new SharedFile(runDir.grantTable(id, serial), GrantTable.FILE_SIZE,
                    (long) GrantTable.DEFAULT_FRAMES * GrantEntry.PAGE_SIZE);
            this.eventFile = new SharedFile(runDir.events(id, serial), PortTable.OFFSET + PortTable.SIZE, 0);
        } catch (RuntimeException e) {
            if (mem != null) mem.release();
            if (gnt != null) gnt.release();
            throw e;
        }
        this.memory = mem;
        this.grantFile = gnt;
        this.events = new EventPage(eventFile.segment().asSlice(0, EventPage.SIZE), runDir.events(id, serial));
        this.ports = new PortTable(eventFile.segment().asSlice(PortTable.OFFSET, PortTable.SIZE));
        this.fifoArea = new FifoArea(eventFile.segment().asSlice(EventPage.SIZE, FifoArea.SIZE));
        fifoArea.setMemoryPages(pages);
        MemorySegment whole = memory.segment();
        this.fifo = new FifoReceiver(events, fifoArea) {
            @Override
            protected MemorySegment frame(int gfn) {
                return whole.asSlice((long) gfn * GrantEntry.PAGE_SIZE, GrantEntry.PAGE_SIZE);
            }
        };
        events.setRunstate(EventPage.PAUSED);
    }

    /** max_evtchns: the ports this domain may have under its current ABI. */
    int maxPorts() {
        return controlGfns != null ? EventWord.NR_CHANNELS : EventPage.MAX_PORTS;
    }

    /** A hypervisor-raised event (a bind, VIRQ, re-raise): set_pending of the domain's ABI. */
    void raise(int port) {
        if (!fifo.raise(port) && port < EventPage.MAX_PORTS) events.raise(port);
    }

    boolean alive() {
        return state != DomainState.DYING;
    }

    DomainLayout layout() {
        return new DomainLayout(id, serial, pages, privileged, xenstorePort, consolePort, totPages());
    }

    DomainInfo info() {
        return new DomainInfo(id, state, state == DomainState.SHUTDOWN ? shutdownReason : null, totPages(), vcpus,
                vcpusUp, privileged, xenstorePort, consolePort,
                state == DomainState.RUNNING && events.sleeping() && events.busy() == 0);
    }

    /** Xen's tot_pages: the frames the domain holds now. */
    int totPages() {
        return pages - releasedCount;
    }

    int grantEntries() {
        return grantFrames * GrantEntry.ENTRIES_PER_FRAME;
    }

    /** The pin counts cover every entry of the table as it is now (called as it grows). */
    void growPinCounts() {
        int entries = grantEntries();
        if (readers.length >= entries) return;
        readers = java.util.Arrays.copyOf(readers, entries);
        writers = java.util.Arrays.copyOf(writers, entries);
    }

    /** Runstate for the event thread: it delivers only while the domain runs. */
    void publishRunstate() {
        events.setRunstate(switch (state) {
            case RUNNING -> EventPage.RUNNING;
            case PAUSED -> EventPage.PAUSED;
            // A domain suspended waits in its suspend hypercall for the toolstack's resume; any other shutdown is final.
            case SHUTDOWN -> shutdownReason == ShutdownReason.SUSPEND ? EventPage.SUSPENDED : EventPage.DEAD;
            case DYING -> EventPage.DEAD;
        });
    }
}
