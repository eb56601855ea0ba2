package org.jxen.hypervisor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.libc.Epoll;
import org.jxen.libc.Libc;
import org.jxen.libc.Tun;

/**
 * The descriptors a domain's event thread waits for beside its event channels, in one epoll instance with the
 * thread's eventfd: a sender finding the thread asleep in epoll_wait writes the eventfd ({@link EventPage}), a
 * descriptor that becomes readable runs its handler on the event thread, as Linux runs a device's interrupt
 * handler and NAPI poll on the CPU that took the interrupt. Level-triggered: a handler that leaves data unread
 * is called again on the thread's next turn, after the events that came meanwhile.
 */
final class FdWatch implements AutoCloseable {
    private static final int MAX_EVENTS = 16;
    private static final long WAKE = -1;

    private final int epfd;
    private final int eventFd;
    private final int nonce = (int) System.nanoTime() | 1;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment events = arena.allocate(MAX_EVENTS * Epoll.EVENT_SIZE, 8);
    private final ConcurrentHashMap<Integer, Runnable> handlers = new ConcurrentHashMap<>();
    private boolean closed;

    FdWatch() {
        int ep = Epoll.create();
        if (ep < 0) throw new IllegalStateException("epoll_create1: " + Tun.strerror(-ep));
        int ev = Tun.eventfd();
        if (ev < 0) {
            Libc.close(ep);
            throw new IllegalStateException("eventfd: " + Tun.strerror(-ev));
        }
        // Edge-triggered: every write of a sender is an edge, so the count is never read back (one system call
        // less per wake-up); it cannot reach its limit (2^64 - 2 wake-ups).
        int rc = Epoll.add(ep, ev, Epoll.EPOLLIN | Epoll.EPOLLET, WAKE);
        if (rc < 0) {
            Libc.close(ep);
            Libc.close(ev);
            throw new IllegalStateException("epoll_ctl: " + Tun.strerror(-rc));
        }
        this.epfd = ep;
        this.eventFd = ev;
    }

    void publish(EventPage page) {
        page.publishWakeFd(ProcessHandle.current().pid(), eventFd, nonce);
    }

    boolean any() {
        return !handlers.isEmpty();
    }

    synchronized void watch(int fd, Runnable onReadable) {
        if (closed) throw new IllegalStateException("the domain's event thread has stopped");
        if (handlers.putIfAbsent(fd, onReadable) != null) throw new IllegalStateException("fd " + fd + " already watched");
        int rc = Epoll.add(epfd, fd, Epoll.EPOLLIN, fd);
        if (rc < 0) {
            handlers.remove(fd);
            throw new IllegalStateException("epoll_ctl(ADD, " + fd + "): " + Tun.strerror(-rc));
        }
    }

    /** Reports {@code fd} again (true) or not (false) while it stays watched; from any thread. */
    synchronized void arm(int fd, boolean armed) {
        if (closed || !handlers.containsKey(fd)) return;
        int rc = Epoll.modify(epfd, fd, armed ? Epoll.EPOLLIN : 0, fd);
        if (rc < 0) throw new IllegalStateException("epoll_ctl(MOD, " + fd + "): " + Tun.strerror(-rc));
    }

    synchronized void unwatch(int fd) {
        if (handlers.remove(fd) != null && !closed) Epoll.remove(epfd, fd);
    }

    /**
     * Waits up to {@code timeoutMs} (-1: until something happens) and runs the handlers of the readable
     * descriptors. Returns whether a handler ran.
     */
    boolean poll(int timeoutMs) {
        int n = Epoll.await(epfd, events, MAX_EVENTS, timeoutMs);
        boolean ran = false;
        for (int i = 0; i < n; i++) {
            long data = Epoll.data(events, i);
            if (data == WAKE) continue;
            Runnable h = handlers.get((int) data);
            if (h == null) continue; // unwatched since the wait returned
            ran = true;
            try {
                h.run();
            } catch (RuntimeException e) {
                System.err.println("handler for fd " + data + " failed: " + e);
            }
        }
        return ran;
    }

    /** On the event thread, as it ends (no poll runs any more). */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        handlers.clear();
        Libc.close(epfd);
        Libc.close(eventFd);
        arena.close();
    }
}
