package org.jxen.hypervisor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import org.jxen.libc.Epoll;
import org.jxen.libc.Libc;
import org.jxen.libc.Tun;

/**
 * A sender's copy of a receiver's eventfd (pidfd_getfd), taken the first time the receiver is found asleep in
 * epoll_wait and kept while the receiver publishes the same {pid, fd, nonce}. A copy, not the number: the receiver
 * may close its descriptor, and the number may be reused, while a sender is between reading it and writing. One per
 * {@link EventPage} mapping; closed when the mapping's flyweight is collected.
 */
final class WakeFd {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final System.Logger LOG = System.getLogger("jxen.hypervisor");

    /** Shared with the cleaning action, which must not hold the WakeFd. */
    private static final class Copy implements Runnable {
        int fd = -1;

        @Override
        public synchronized void run() {
            if (fd >= 0) Libc.close(fd);
            fd = -1;
        }
    }

    private final Copy copy = new Copy();
    /** The eight bytes written: 1 (under the lock). */
    private final MemorySegment one = Arena.ofAuto().allocate(8, 8);
    private long key = Long.MIN_VALUE;
    private int nonce;
    private boolean warned;

    WakeFd() {
        one.set(ValueLayout.JAVA_LONG, 0, 1L);
        CLEANER.register(this, copy);
    }

    /** Writes the receiver's eventfd {@code fd} of process {@code pid}. */
    synchronized void signal(int pid, int fd, int nonce) {
        if (pid <= 0 || fd < 0) return;
        long k = ((long) pid << 32) | (fd & 0xFFFFFFFFL);
        synchronized (copy) {
            if (k != key || nonce != this.nonce || copy.fd < 0) {
                copy.run();
                int c = Epoll.copyOf(pid, fd);
                if (c < 0) {
                    // EBADF, ESRCH: the receiver's thread ended (and closed it) or its process did, after this
                    // sender took it from the sleeping word; nobody is left to wake. Anything else is a lost wake-up.
                    if (c == -9 || c == -3) return;
                    if (!warned) {
                        warned = true;
                        LOG.log(System.Logger.Level.ERROR, "cannot wake the event thread of process " + pid
                                + " (pidfd_getfd of its eventfd " + fd + "): " + Tun.strerror(-c));
                    }
                    return;
                }
                copy.fd = c;
                key = k;
                this.nonce = nonce;
            }
            long unused = Tun.write(copy.fd, one, 8);
        }
    }
}
