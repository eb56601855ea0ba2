package org.jxen.hypervisor.process;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.jxen.hypervisor.Hypervisor;

/**
 * A guest process dies with its host. The host hands each guest the read end of a pipe as stdin (its lifeline:
 * {@link #LIFELINE_ENV}); the host alone holds the write end, so the guest reads EOF the moment the host's process
 * ends, SIGKILL included. A guest whose stdin is not a lifeline polls its parent process instead.
 * Either way the guest then deletes its dead host's shared-memory directory (nobody else is left to; a live
 * host's is never touched) and halts: its mappings of the domain files go with it.
 */
final class HostWatch {
    /** Set to {@link #LIFELINE_STDIN} by the host for a guest whose stdin is the lifeline pipe. */
    static final String LIFELINE_ENV = "JXEN_GUEST_LIFELINE";
    static final String LIFELINE_STDIN = "stdin";
    private static final long POLL_MILLIS = 200;
    /** How long to wait for the host's process to be gone from the process table before touching its files. */
    private static final long OWNER_GONE_MILLIS = 2000;

    /** The host's directory of domain files, once the hypervisor has said where it is. */
    private static volatile Path shmDir;

    private HostWatch() {
    }

    /**
     * Starts watching, first thing in a guest process: the host is our parent now. {@code socket} is the
     * hypervisor's service socket; its sibling {@code shm} link names the host's domain files until the hypervisor
     * says where they are ({@link #sharedMemory}).
     */
    static void start(int domid, Path socket) {
        shmDir = linkTarget(socket.resolveSibling("shm"));
        // Load now what hostGone needs: a jar rebuilt in place while the guest runs (the launcher builds when the
        // sources are newer) cannot be read from any more, and the way out must not depend on reading it.
        Hypervisor.sharedMemoryOwner(Path.of("/jxen-"));
        Optional<ProcessHandle> parent = ProcessHandle.current().parent();
        if (LIFELINE_STDIN.equals(System.getenv(LIFELINE_ENV))) {
            Thread.ofPlatform().daemon().name("host-lifeline").start(() -> {
                readToEof(System.in);
                hostGone(domid, "its lifeline closed");
            });
            // No polling beside it: the pipe ends with the host, however it ends, and 800 idle guests polling
            // their parent five times a second took a whole CPU of a 2-CPU machine between them.
            return;
        }
        parent.ifPresent(host -> Thread.ofPlatform().daemon().name("host-watch").start(() -> {
            while (host.isAlive() && ProcessHandle.current().parent().map(host::equals).orElse(false)) {
                try {
                    Thread.sleep(POLL_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
            hostGone(domid, "the host process " + host.pid() + " is gone");
        }));
    }

    /** Where the hypervisor keeps the domain files, as its HELLO reply said. */
    static void sharedMemory(Path dir) {
        shmDir = dir;
    }

    private static Path linkTarget(Path link) {
        try {
            return Files.readSymbolicLink(link);
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static void readToEof(InputStream in) {
        byte[] b = new byte[256];
        try {
            while (in.read(b) >= 0) {
                // The host writes nothing; anything read is ignored.
            }
        } catch (IOException e) {
            // A broken lifeline is a dead host too.
        }
    }

    /** The host is gone: delete its orphaned domain files, say so, and end this process at once. */
    static synchronized void hostGone(int domid, String why) {
        try {
            removeAndSay(domid, why);
        } catch (Throwable t) {
            // Whatever went wrong cleaning up, the guest must not outlive its host.
            System.err.println("d" + domid + ": host gone (" + why + "), guest process " + ProcessHandle.current().pid()
                    + " exits; its domain files were not removed: " + t);
        } finally {
            Runtime.getRuntime().halt(3);
        }
    }

    private static void removeAndSay(int domid, String why) {
        Path shm = shmDir;
        if (shm == null) {
            System.err.println("d" + domid + ": host gone (" + why + "), guest process " + ProcessHandle.current().pid()
                    + " exits");
            return;
        }
        long deadline = System.currentTimeMillis() + OWNER_GONE_MILLIS;
        boolean deleted = Hypervisor.deleteOrphanedSharedMemory(shm);
        while (!deleted && System.currentTimeMillis() < deadline && Hypervisor.sharedMemoryOwner(shm) >= 0
                && Files.exists(shm)) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                break;
            }
            deleted = Hypervisor.deleteOrphanedSharedMemory(shm);
        }
        System.err.println("d" + domid + ": host gone (" + why + "), guest process " + ProcessHandle.current().pid()
                + " exits" + (deleted ? "; removed " + shm : ""));
    }
}
