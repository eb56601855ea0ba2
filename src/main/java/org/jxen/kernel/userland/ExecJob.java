package org.jxen.kernel.userland;

import java.io.ByteArrayOutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * One command {@code xl exec} runs in the guest: its number, argv, the output it has made, and for a freezable
 * one the progress it recorded at its last safe point while the kernel froze (what a restored kernel continues
 * from). Its section of the kernel record ({@code workload/exec}), little-endian:
 *
 * <pre>
 * u32 commands; per command: u32 number length, number, u32 argv length, argv (NUL-separated),
 *   u32 progress length (0xFFFFFFFF: not freezable, lost), progress, u32 stdout length, stdout, u32 stderr length, stderr
 * </pre>
 */
final class ExecJob {
    /** The most output of each stream a record carries over (a restored command's output is its start). */
    static final int MAX_OUTPUT = 2048;
    private static final int NONE = -1;

    final String n;
    final List<String> argv;
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    /** Started by a restored kernel from a record. */
    final boolean resumedHere;
    private final byte[] resumed;
    /** Set before it starts: it stops at safe points and counts in freezes. */
    volatile boolean freezable;
    private volatile byte[] progress;
    /** Bytes read and written by this kernel's run of the command (Linux's rchar and wchar of /proc/PID/io). */
    final java.util.concurrent.atomic.AtomicLong rchar = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong wchar = new java.util.concurrent.atomic.AtomicLong();

    /** What a record holds of a command: progress null for one that does not survive. */
    record Saved(String n, List<String> argv, byte[] progress, byte[] out, byte[] err) {}

    ExecJob(String n, List<String> argv, byte[] resumed, byte[] out, byte[] err) {
        this.n = n;
        this.argv = List.copyOf(argv);
        this.resumed = resumed;
        this.resumedHere = resumed != null;
        this.out.writeBytes(out);
        this.err.writeBytes(err);
    }

    /** The job as its utility sees it, parking in {@code freezer}. */
    Job linkedTo(Freezer freezer) {
        return new Job() {
            @Override
            public void safePoint(Supplier<byte[]> at) throws InterruptedException {
                freezer.safePoint(() -> progress = at.get());
            }

            @Override
            public byte[] resumed() {
                return resumed;
            }

            @Override
            public boolean freezing() {
                return freezer.freezing();
            }

            @Override
            public void account(long read, long written) {
                if (read != 0) rchar.addAndGet(read);
                if (written != 0) wchar.addAndGet(written);
            }
        };
    }

    /** The progress recorded when it parked, or null if it has not parked (then it is lost with a suspend). */
    byte[] progress() {
        return progress;
    }

    Saved saved(byte[] progress) {
        return new Saved(n, argv, progress, head(out), head(err));
    }

    private static byte[] head(ByteArrayOutputStream s) {
        byte[] b = s.toByteArray();
        return b.length <= MAX_OUTPUT ? b : Arrays.copyOf(b, MAX_OUTPUT);
    }

    static byte[] encode(List<Saved> jobs) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        u32(b, jobs.size());
        for (Saved j : jobs) {
            bytes(b, j.n().getBytes(StandardCharsets.UTF_8));
            bytes(b, String.join("\0", j.argv()).getBytes(StandardCharsets.UTF_8));
            if (j.progress() == null) u32(b, NONE);
            else bytes(b, j.progress());
            bytes(b, j.out());
            bytes(b, j.err());
        }
        return b.toByteArray();
    }

    /** The commands of a record; IllegalStateException for a section that does not parse. */
    static List<Saved> decode(byte[] state) {
        ByteBuffer b = ByteBuffer.wrap(state).order(ByteOrder.LITTLE_ENDIAN);
        List<Saved> out = new ArrayList<>();
        try {
            int count = b.getInt();
            if (count < 0 || count > state.length) throw new IllegalStateException("exec record of " + count + " commands");
            for (int i = 0; i < count; i++) {
                String n = new String(bytes(b), StandardCharsets.UTF_8);
                List<String> argv = List.of(new String(bytes(b), StandardCharsets.UTF_8).split("\0"));
                byte[] progress = bytesOrNone(b);
                out.add(new Saved(n, argv, progress, bytes(b), bytes(b)));
            }
        } catch (BufferUnderflowException e) {
            throw new IllegalStateException("exec record cut short");
        }
        return out;
    }

    private static void u32(ByteArrayOutputStream b, int v) {
        b.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    private static void bytes(ByteArrayOutputStream b, byte[] data) {
        u32(b, data.length);
        b.writeBytes(data);
    }

    private static byte[] bytesOrNone(ByteBuffer b) {
        int n = b.getInt();
        if (n == NONE) return null;
        return take(b, n);
    }

    private static byte[] bytes(ByteBuffer b) {
        return take(b, b.getInt());
    }

    private static byte[] take(ByteBuffer b, int n) {
        if (n < 0 || n > b.remaining()) throw new IllegalStateException("exec record entry of " + n + " bytes");
        byte[] d = new byte[n];
        b.get(d);
        return d;
    }
}
