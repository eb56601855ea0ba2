package org.jxen.kernel.userland;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;

/**
 * The guest side of {@code xl exec} (module {@code exec}, built into a guest kernel): the toolstack writes
 * {@code data/exec/<n>/cmd} (argv, NUL- or newline-separated) in the guest's XenStore home; this module runs the
 * named utility of the guest's userland ({@link Utilities}: dd, sha256sum, blkbench on the guest's disks;
 * insmod, rmmod, lsmod on its kernel), writes its standard output and standard error as chunks
 * {@code data/exec/<n>/output/<i>} and {@code data/exec/<n>/error/<i>} ({@value #CHUNK} bytes each), then
 * {@code data/exec/<n>/status} (the exit status, decimal). The toolstack removes {@code <n>} once it has read
 * the result. {@code data/exec/next} is the toolstack's counter of command numbers and is ignored here. A
 * {@code data/exec/<n>/kill} node (xl exec's {@code --timeout} ran out) interrupts the running command, which then
 * answers only {@code status} {@value #KILLED}, for the toolstack to see it gone before it removes {@code <n>}.
 */
public final class GuestExec implements KernelModule {
    public static final String NAME = "exec";
    public static final String DIR = "data/exec";
    /** Below xenstored's node-size quota (2048 bytes for data, path and permissions together). */
    public static final int CHUNK = 1536;

    private final Set<String> started = new HashSet<>();
    /** Commands still running, by number: what a {@code kill} node interrupts. */
    private final java.util.Map<String, Thread> running = new java.util.concurrent.ConcurrentHashMap<>();
    /** Commands the toolstack killed: they answer 137 (128 + SIGKILL) and nothing else. */
    private final Set<String> killed = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** The status of a killed command, as a shell reports a command killed by SIGKILL. */
    public static final int KILLED = 137;
    /** The shell's status for a command it could not start (here: no thread for it, fork's EAGAIN). */
    public static final int CANNOT_START = 126;
    private ExecutorService scanner;
    private Kernel kernel;

    @Override
    public String name() {
        return NAME;
    }

    /** Built into a guest kernel: xl exec reaches every guest. dom0 runs its userland in the host instead. */
    @Override
    public boolean builtInto(KernelRole role) {
        return role == KernelRole.GUEST;
    }

    @Override
    public void init(Kernel kernel) throws Exception {
        this.kernel = kernel;
        scanner = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("exec-scan").factory());
        // The watch callback only schedules a scan: XenStore requests are not made on the watch thread.
        kernel.xenstore().watch(DIR, "exec", (path, token) -> {
            try {
                scanner.execute(this::scan);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // unloading
            }
        });
    }

    @Override
    public void exit(Kernel kernel) {
        try {
            kernel.xenstore().unwatch(DIR, "exec");
        } catch (IOException e) {
            // the connection is going away
        }
        scanner.shutdownNow();
    }

    private void scan() {
        var xs = kernel.xenstore();
        try {
            if (!xs.exists(DIR)) return;
            for (String n : xs.directory(DIR)) {
                if (!n.matches("[0-9]+")) continue;
                String base = DIR + "/" + n;
                if (started.contains(n)) {
                    // xl exec --timeout ran out: the toolstack asks for the command's end with data/exec/<n>/kill.
                    Thread t = running.get(n);
                    if (t != null && !killed.contains(n) && xs.exists(base + "/kill")) {
                        killed.add(n);
                        kernel.printk("exec: killing command " + n + " (" + xs.readString(base + "/kill") + ")");
                        t.interrupt();
                    }
                    continue;
                }
                if (!xs.exists(base + "/cmd") || xs.exists(base + "/status")) continue;
                started.add(n);
                byte[] cmd = xs.read(base + "/cmd");
                // On the domain's vCPU: xl list shows the domain running meanwhile, its CPU time counts, and a
                // paused domain's command stops at its next hypercall.
                Thread t = Thread.ofPlatform().daemon().name("exec-" + n)
                        .unstarted(() -> kernel.hypercalls().runOnVcpu(() -> run(n, base, cmd)));
                running.put(n, t);
                try {
                    t.start();
                } catch (OutOfMemoryError noThread) {
                    // fork's EAGAIN: the host is out of threads. The command fails; the agent and the guest go on.
                    running.remove(n);
                    String why = "exec: cannot start the command: EAGAIN (" + noThread.getMessage() + ")";
                    kernel.printk(why);
                    xs.write(base + "/error/0", why + "\n");
                    xs.write(base + "/status", Integer.toString(CANNOT_START));
                }
            }
        } catch (IOException e) {
            kernel.printk("exec: scanning " + DIR + ": " + e.getMessage());
        }
    }

    /** argv from the cmd node: NUL- or newline-separated, empty fields dropped. */
    static List<String> argv(byte[] cmd) {
        List<String> out = new ArrayList<>();
        for (String s : new String(cmd, StandardCharsets.UTF_8).split("[\\x00\\n]")) if (!s.isEmpty()) out.add(s);
        return out;
    }

    private void run(String n, String base, byte[] cmd) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            try {
                status = Utilities.run(kernel, argv(cmd), o, e);
            } catch (RuntimeException ex) {
                e.println("exec: " + ex);
                status = 1;
            }
        }
        running.remove(n);
        var xs = kernel.xenstore();
        try {
            if (killed.remove(n)) {
                // The toolstack gave up on the output; the status tells it the command is gone.
                xs.write(base + "/status", Integer.toString(KILLED));
                return;
            }
            writeChunks(base + "/output", out.toByteArray());
            writeChunks(base + "/error", err.toByteArray());
            xs.write(base + "/status", Integer.toString(status));
        } catch (IOException ex) {
            kernel.printk("exec: writing the result of " + base + ": " + ex.getMessage());
        }
    }

    private void writeChunks(String dir, byte[] data) throws IOException {
        var xs = kernel.xenstore();
        for (int i = 0, off = 0; off < data.length; i++, off += CHUNK) {
            byte[] c = java.util.Arrays.copyOfRange(data, off, Math.min(data.length, off + CHUNK));
            xs.write(dir + "/" + i, c);
        }
    }
}
