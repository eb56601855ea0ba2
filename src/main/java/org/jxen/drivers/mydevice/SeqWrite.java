package org.jxen.drivers.mydevice;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.jxen.kernel.Disk;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.ModuleParameters;
import org.jxen.kernel.UnknownParameterException;
import org.jxen.kernel.Workload;

/**
 * The test workload that survives migration ({@code insmod seqwrite disk=xvda greet=16 pause_ms=0}): it writes
 * self-describing numbered blocks to a disk, block {@code n} at sector {@code n}, each waited for (acknowledged)
 * before the next (then sleeps {@code pause_ms}), and every {@code greet} blocks greets over mydevice
 * ({@link MyDeviceFront#greet}). Its state
 * is the next block's number and the greetings sent; after a save and restore or a migration it continues with
 * the next number, so the disk holds 0, 1, 2, ... without a gap or a repeat. A block (one sector, 512 bytes):
 *
 * <pre>
 * 0   8  "JXSEQBLK"
 * 8   8  u64 number (little-endian)
 * 16  4  u32 CRC32C of bytes 0-15
 * 20  .. "seqwrite block N" and zeros
 * </pre>
 */
public final class SeqWrite implements Workload {
    public static final String NAME = "seqwrite";
    public static final byte[] MAGIC = "JXSEQBLK".getBytes(StandardCharsets.US_ASCII);
    public static final int BLOCK = 512;

    private String diskName = "xvda";
    private int greetEvery = 16;
    private int pauseMs;
    private long next;
    private long greetings;
    private volatile Kernel kernel;
    private Thread thread;
    // The freezer: the worker parks at its safe point while freezing is set.
    private final Object lock = new Object();
    private boolean freezing;
    private boolean parked;
    private boolean stopping;
    private boolean abandoned;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void parameter(String key, String value) {
        switch (key) {
            case "disk" -> {
                if (value == null || !value.matches("[a-z0-9]+")) throw new IllegalArgumentException("disk");
                diskName = value;
            }
            case "greet" -> greetEvery = ModuleParameters.uint(value);
            case "pause_ms" -> pauseMs = ModuleParameters.uint(value, 0, 10_000);
            default -> throw new UnknownParameterException(key);
        }
    }

    @Override
    public void init(Kernel kernel) {
        this.kernel = kernel;
        kernel.printk(NAME + ": writing numbered blocks to " + diskName + " from block " + next);
        thread = Thread.ofVirtual().name("d" + kernel.domid() + "-" + NAME).start(this::loop);
    }

    @Override
    public void exit(Kernel kernel) throws InterruptedException {
        synchronized (lock) {
            stopping = true;
            lock.notifyAll();
        }
        // The block in flight is let finish, so that what is reported acknowledged is exactly what is on the disk.
        thread.join(TimeUnit.SECONDS.toMillis(10));
        if (thread.isAlive()) {
            thread.interrupt();
            thread.join(TimeUnit.SECONDS.toMillis(10));
        }
        kernel.printk(NAME + ": stopped after " + next + " blocks acknowledged, " + greetings + " greetings");
    }

    /** The block with number {@code n}, as it lies on the disk. */
    public static byte[] block(long n) {
        ByteBuffer b = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putLong(n);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 16);
        b.putInt((int) crc.getValue());
        b.put(("seqwrite block " + n).getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    /** The number of a block written by {@link #block}, or -1 for anything else (an unwritten sector). */
    public static long number(byte[] sector, int off) {
        ByteBuffer b = ByteBuffer.wrap(sector, off, BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < MAGIC.length; i++) if (b.get() != MAGIC[i]) return -1;
        long n = b.getLong();
        CRC32C crc = new CRC32C();
        crc.update(sector, off, 16);
        return b.getInt() == (int) crc.getValue() ? n : -1;
    }

    private void loop() {
        Kernel k = kernel;
        try {
            Disk disk = safePoint() ? k.disks().await(diskName).get() : null;
            while (disk != null && safePoint()) {
                if (next >= disk.sectors()) {
                    k.printk(NAME + ": " + diskName + " is full after " + next + " blocks");
                    return;
                }
                byte[] b = block(next);
                disk.write(next, b, 0, BLOCK).get(); // acknowledged: the backend answered
                next++;
                if (greetEvery > 0 && next % greetEvery == 0) {
                    MyDeviceFront front = k.module(MyDeviceFront.class);
                    if (front != null) greetings += front.greet();
                }
                if (pauseMs > 0) Thread.sleep(pauseMs);
            }
        } catch (InterruptedException e) {
            // exit or abandon
        } catch (java.util.concurrent.ExecutionException e) {
            k.printk(NAME + ": block " + next + " failed: " + e.getCause().getMessage());
        }
    }

    /** The freezer's refrigerator: parks while frozen; false when the module is stopping or abandoned. */
    private boolean safePoint() throws InterruptedException {
        synchronized (lock) {
            while (freezing && !stopping && !abandoned) {
                parked = true;
                lock.notifyAll();
                lock.wait();
            }
            parked = false;
            return !stopping && !abandoned;
        }
    }

    @Override
    public boolean freeze(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            freezing = true;
            // A worker that already ended (disk full, failed) is as good as frozen.
            while (!parked && thread.isAlive()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
            return true;
        }
    }

    @Override
    public void thaw() {
        synchronized (lock) {
            freezing = false;
            lock.notifyAll();
        }
    }

    @Override
    public byte[] state() {
        synchronized (lock) {
            return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(next).putLong(greetings).array();
        }
    }

    @Override
    public void restore(byte[] state) {
        ByteBuffer b = ByteBuffer.wrap(state).order(ByteOrder.LITTLE_ENDIAN);
        next = b.getLong();
        greetings = b.getLong();
    }

    @Override
    public void abandon() {
        synchronized (lock) {
            abandoned = true;
            lock.notifyAll();
        }
    }
}
