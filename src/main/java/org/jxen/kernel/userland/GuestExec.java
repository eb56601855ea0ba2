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
import org.jxen.kernel.KernelRole;
import org.jxen.kernel.Workload;

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
 *
 * <p>It is a {@link Workload}: at a suspend the commands that can be frozen ({@link Utilities#freezable}: dd, sha256sum, blkbench) stop at
 * their next safe point and their progress and output so far go into the kernel record; after a cancelled suspend
 * they go on, and a kernel restored from the record (after xl restore or a migration) starts each again from
 * where it stopped, under a new number of its own ({@code data/exec/<m>}, taken from {@code next} as the
 * toolstack takes one), where it writes its output and status when done, and says so in its log. Other commands
 * running at the suspend do not survive it; the restored kernel logs each and answers it with status {@value #LOST}.
 */
public final class GuestExec implements Workload {
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
    /** The status a restored kernel answers for a command that was running at the suspend and could not be frozen. */
    public static final int LOST = 255;
    private ExecutorService scanner;
    private Kernel kernel;
    private final Freezer freezer = new Freezer();
    /** Commands running now, by number (what a suspend records). */
    private final java.util.Map<String, ExecJob> jobs = new java.util.concurrent.ConcurrentHashMap<>();
    /** What a restored kernel's record gave: started again at init. */
    private List<ExecJob.Saved> resumed = List.of();
    /** The most commands a record carries with their progress; more are lost, as a command not freezable. */
    static final int MAX_RECORDED = 8;
    /** The most lost commands a record names (the restored kernel logs each). */
    static final int MAX_LOST = 64;

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
        scanner = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("d" + kernel.domid() + "-exec-scan").factory());
        // Before the watch's first scan: the numbers the resumed commands take are then started ones.
        List<ExecJob.Saved> saved = resumed;
        resumed = List.of();
        if (!saved.isEmpty()) scanner.execute(() -> resume(saved));
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
            if (freezer.freezing()) return; // new commands wait for the thaw (or go with the domain)
            List<String> names = xs.directoryOrNull(DIR);
            if (names == null) return;
            for (String n : names) {
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
                start(new ExecJob(n, argv(xs.read(base + "/cmd")), null, new byte[0], new byte[0]));
            }
        } catch (IOException e) {
            kernel.printk("exec: scanning " + DIR + ": " + e.getMessage());
        }
    }

    private void start(ExecJob job) throws IOException {
        String base = DIR + "/" + job.n;
        if (!job.argv.isEmpty() && Utilities.freezable(job.argv.getFirst())) {
            job.freezable = true;
            freezer.started();
        }
        jobs.put(job.n, job);
        // On the domain's vCPU: xl list shows the domain running meanwhile, its CPU time counts, and a
        // paused domain's command stops at its next hypercall.
        Thread t = Thread.ofPlatform().daemon().name("d" + kernel.domid() + "-exec-" + job.n)
                .unstarted(() -> kernel.hypercalls().runOnVcpu(() -> run(job, base)));
        running.put(job.n, t);
        try {
            t.start();
        } catch (OutOfMemoryError noThread) {
            // fork's EAGAIN: the host is out of threads. The command fails; the agent and the guest go on.
            running.remove(job.n);
            jobs.remove(job.n);
            if (job.freezable) freezer.ended();
            String why = "exec: cannot start the command: EAGAIN (" + noThread.getMessage() + ")";
            kernel.printk(why);
            kernel.xenstore().write(base + "/error/0", why + "\n");
            kernel.xenstore().write(base + "/status", Integer.toString(CANNOT_START));
        }
    }

    /**
     * A restored kernel's commands. Each keeps its number if it is free in the new home (it is, unless an xl exec
     * came first), so that the caller of xl exec on the source can name and follow it; else it takes the next, as
     * the toolstack does. Either way {@code data/exec/next} and the {@code cmd} node are written in one
     * transaction, so no later xl exec collides with it. A command that did not survive answers at once: its error
     * line and status {@value #LOST}, for whoever follows it there.
     */
    private void resume(List<ExecJob.Saved> saved) {
        var xs = kernel.xenstore();
        for (ExecJob.Saved j : saved) {
            String what = j.n() + " (" + String.join(" ", j.argv()) + ")";
            try {
                String m = xs.transaction(tx -> {
                    long next = tx.exists(DIR + "/next") ? Long.parseLong(tx.readString(DIR + "/next").strip()) : 0;
                    long n = Long.parseLong(j.n());
                    if (tx.exists(DIR + "/" + n)) n = next;
                    tx.write(DIR + "/next", Long.toString(Math.max(next, n + 1)));
                    tx.write(DIR + "/" + n + "/cmd", String.join("\n", j.argv()));
                    return Long.toString(n);
                });
                started.add(m);
                if (j.progress() == null) {
                    String why = "exec: command " + what + " was running at the suspend and does not survive it";
                    kernel.printk(why);
                    xs.write(DIR + "/" + m + "/error/0", why + "\n");
                    xs.write(DIR + "/" + m + "/status", Integer.toString(LOST));
                    continue;
                }
                kernel.printk("exec: command " + what + " resumes where it stopped, as " + DIR + "/" + m);
                start(new ExecJob(m, j.argv(), j.progress(), j.out(), j.err()));
            } catch (IOException | NumberFormatException e) {
                kernel.printk("exec: resuming command " + what + ": " + e.getMessage());
            }
        }
    }

    /** argv from the cmd node: NUL- or newline-separated, empty fields dropped. */
    static List<String> argv(byte[] cmd) {
        List<String> out = new ArrayList<>();
        for (String s : new String(cmd, StandardCharsets.UTF_8).split("[\\x00\\n]")) if (!s.isEmpty()) out.add(s);
        return out;
    }

    private void run(ExecJob job, String base) {
        String n = job.n;
        int status;
        try {
            try (PrintStream o = new PrintStream(job.out, true, StandardCharsets.UTF_8);
                    PrintStream e = new PrintStream(job.err, true, StandardCharsets.UTF_8)) {
                try {
                    status = Utilities.run(kernel, job.argv, o, e, job.linkedTo(freezer));
                } catch (Job.Abandoned ex) {
                    return; // saved or migrated: it goes on in the domain's new copy
                } catch (RuntimeException ex) {
                    e.println("exec: " + ex);
                    status = 1;
                }
            }
            finish(job, base, status);
        } finally {
            running.remove(n);
            jobs.remove(n);
            if (job.freezable) freezer.ended();
        }
    }

    private void finish(ExecJob job, String base, int status) {
        String n = job.n;
        ByteArrayOutputStream out = job.out;
        ByteArrayOutputStream err = job.err;
        var xs = kernel.xenstore();
        if (job.resumedHere) kernel.printk("exec: command " + n + " (" + job.argv.getFirst() + ") exited with status " + status);
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

    // ---- Workload: the freezer and the kernel record ----

    @Override
    public boolean freeze(java.time.Duration timeout) throws InterruptedException {
        return freezer.freeze(timeout);
    }

    @Override
    public void thaw() {
        freezer.thaw();
        // Commands that came while frozen were left for now.
        try {
            scanner.execute(this::scan);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // unloading
        }
    }

    /**
     * The running commands, by number: up to {@value #MAX_RECORDED} freezable ones (parked) with argv, progress and
     * output so far (the first {@value ExecJob#MAX_OUTPUT} bytes of each stream); up to {@value #MAX_LOST} others
     * (they are lost) by number and program name only. Bounded, so the section fits the record's area whatever runs.
     */
    @Override
    public byte[] state() {
        List<ExecJob.Saved> saved = new ArrayList<>();
        List<ExecJob> now = new ArrayList<>(jobs.values());
        now.sort(java.util.Comparator.comparingLong(j -> Long.parseLong(j.n)));
        int kept = 0;
        int lost = 0;
        for (ExecJob j : now) {
            byte[] progress = j.freezable && kept < MAX_RECORDED ? j.progress() : null;
            if (progress != null) {
                kept++;
                saved.add(j.saved(progress));
            } else if (lost++ < MAX_LOST) {
                saved.add(new ExecJob.Saved(j.n, j.argv.subList(0, Math.min(1, j.argv.size())), null, new byte[0], new byte[0]));
            }
        }
        return ExecJob.encode(saved);
    }

    @Override
    public void restore(byte[] state) {
        resumed = ExecJob.decode(state);
    }

    @Override
    public void abandon() {
        freezer.abandon();
    }

    /** The domain died: the scanner and every command end, nothing is written. */
    @Override
    public void killed(Kernel kernel) {
        freezer.abandon();
        if (scanner != null) scanner.shutdownNow();
        for (Thread t : running.values()) t.interrupt();
    }

    /** The running commands by number, with the bytes each read and wrote: {@code /proc/<n>/io}. */
    java.util.Map<String, long[]> io() {
        java.util.Map<String, long[]> m = new java.util.TreeMap<>();
        for (ExecJob j : jobs.values()) m.put(j.n, new long[] {j.rchar.get(), j.wchar.get()});
        return m;
    }

    private void writeChunks(String dir, byte[] data) throws IOException {
        var xs = kernel.xenstore();
        for (int i = 0, off = 0; off < data.length; i++, off += CHUNK) {
            byte[] c = java.util.Arrays.copyOfRange(data, off, Math.min(data.length, off + CHUNK));
            xs.write(dir + "/" + i, c);
        }
    }
}
