package org.jxen.kernel;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.jxen.libc.Libc;
import org.jxen.libc.Tun;

/**
 * A guest's network stack: a Linux network namespace of its own, so that its {@code eth0} (netfront's TAP
 * device), its addresses and routes, and the programs {@code xl exec} runs in it are the guest's and not the
 * host's. It is made the first time something needs it ({@code unshare(CLONE_NEWNET)} on a throw-away thread) and
 * held by a descriptor, not by a name under /run/netns: nothing is left behind when the guest's kernel closes
 * it, or when its process dies. Work that must happen inside runs on a fresh platform thread that enters it with
 * setns, which in Linux changes only the calling thread; a program is started inside through nsenter.
 */
public final class NetNamespace implements AutoCloseable {
    private int fd = -1;
    private boolean closed;
    /** The programs started inside: a guest's processes die with it (they would hold the namespace). */
    private final java.util.List<Process> programs = new java.util.ArrayList<>();

    /** The descriptor of the namespace, made on first use; IOException (one line) if the kernel refuses. */
    public synchronized int fd() throws IOException {
        if (closed) throw new IOException("the network namespace is closed");
        if (fd >= 0) return fd;
        fd = onThread(() -> {
            int rc = Tun.unshareNet();
            if (rc != 0) throw new IOException("creating a network namespace: " + Tun.strerror(rc) + " (needs CAP_SYS_ADMIN)");
            int f = Libc.open("/proc/thread-self/ns/net", Libc.O_RDONLY | Libc.O_CLOEXEC);
            if (f < 0) throw new IOException("opening the new network namespace: " + Tun.strerror(-f));
            return f;
        });
        run("ip", "link", "set", "lo", "up");
        return fd;
    }

    /** Whether the namespace exists (something asked for it). */
    public synchronized boolean exists() {
        return fd >= 0 && !closed;
    }

    /** Runs {@code work} on a new platform thread inside the namespace, and returns its result. */
    public <T> T inside(Callable<T> work) throws IOException {
        int ns = fd();
        return onThread(() -> {
            int rc = Tun.setnsNet(ns);
            if (rc != 0) throw new IOException("entering the guest's network namespace: " + Tun.strerror(rc));
            return work.call();
        });
    }

    /**
     * Starts a process inside the namespace: {@code nsenter} (util-linux) enters it and execs the program, so the
     * pid is the program's. Not by forking from a thread inside: the JDK makes the thread that reaps a process
     * on the thread that starts it, and that thread, pooled and reused, would stay in the namespace and hold it
     * long after the guest is gone.
     */
    public Process start(ProcessBuilder pb) throws IOException {
        int ns = fd();
        List<String> command = pb.command();
        List<String> entered = new java.util.ArrayList<>(List.of("nsenter", "--net=/proc/" + ProcessHandle.current().pid()
                + "/fd/" + ns, "--"));
        entered.addAll(command);
        Process p;
        try {
            p = pb.command(entered).start();
        } finally {
            pb.command(command);
        }
        synchronized (this) {
            programs.removeIf(q -> !q.isAlive());
            if (closed) {
                p.destroyForcibly();
                throw new IOException("the network namespace is closed");
            }
            programs.add(p);
        }
        return p;
    }

    /** Runs a command inside to completion; IOException with its output if it fails. */
    public void run(String... argv) throws IOException {
        Process p = start(new ProcessBuilder(argv).redirectErrorStream(true));
        try {
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (p.waitFor() != 0) throw new IOException(String.join(" ", argv) + ": " + out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", argv));
        }
    }

    private static <T> T onThread(Callable<T> work) throws IOException {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().daemon().name("netns").start(() -> {
            try {
                result.complete(work.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        try {
            return result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } finally {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Kills the programs still running inside and drops the kernel's reference; the namespace goes once its
     * devices are gone too.
     */
    @Override
    public synchronized void close() {
        closed = true;
        for (Process p : programs) p.destroyForcibly();
        programs.clear();
        if (fd >= 0) Libc.close(fd);
        fd = -1;
    }
}
