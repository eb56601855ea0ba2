package org.jxen.kernel.userland;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jxen.kernel.Disk;
import org.jxen.kernel.Kernel;

/**
 * What a guest utility reads or writes, byte-addressed: a guest disk ({@code /dev/xvdX}, a {@link Disk} of the
 * kernel's block layer; unaligned ranges are read whole sectors and, for writes, read-modify-written) or a host
 * file. Host files are opened by the guest kernel directly: in jxen a guest is a thread or a process on the
 * same host and can open host paths (a jxen convenience; a real guest would need a shared file system).
 */
abstract class Dev implements AutoCloseable {
    static final String DEV_PREFIX = "/dev/";
    /** How long a named disk may take to appear and connect. */
    static final long DISK_WAIT_S = 10;

    final String name;

    Dev(String name) {
        this.name = name;
    }

    /** The character devices a guest has as Linux's are (mem.c): the host's own, opened as files. */
    private static final java.util.Set<String> CHAR_DEVICES = java.util.Set.of("null", "zero", "full", "random", "urandom");

    static boolean isDisk(String name) {
        return name.startsWith(DEV_PREFIX) && !CHAR_DEVICES.contains(name.substring(DEV_PREFIX.length()));
    }

    /** Opens {@code name}; a host file opened for writing is created. Errors are IOExceptions with a short reason. */
    static Dev open(Kernel kernel, String name, boolean write) throws IOException {
        return open(kernel, name, write, DISK_WAIT_S);
    }

    /** {@link #open}, waiting up to {@code diskWaitS} for a disk still being connected. */
    static Dev open(Kernel kernel, String name, boolean write, long diskWaitS) throws IOException {
        if (isDisk(name)) return new BlockDev(name, disk(kernel, name.substring(DEV_PREFIX.length()), diskWaitS));
        try {
            FileChannel ch = write
                    ? FileChannel.open(Path.of(name), StandardOpenOption.WRITE, StandardOpenOption.CREATE)
                    : FileChannel.open(Path.of(name), StandardOpenOption.READ);
            return new HostFile(name, ch);
        } catch (NoSuchFileException e) {
            throw new IOException("No such file or directory");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new IOException("Permission denied");
        } catch (java.nio.file.FileSystemException e) {
            throw new IOException(e.getReason() == null ? e.toString() : e.getReason());
        }
    }

    /** The block layer's disk {@code diskName}, waiting a while for one that is still being connected. */
    static Disk disk(Kernel kernel, String diskName) throws IOException {
        return disk(kernel, diskName, DISK_WAIT_S);
    }

    static Disk disk(Kernel kernel, String diskName, long waitS) throws IOException {
        CompletableFuture<Disk> f = kernel.disks().await(diskName);
        try {
            return f.get(waitS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            // What Linux says of a device node that is not there (after the wait for one still connecting).
            throw new IOException("No such file or directory");
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    static <T> T await(CompletableFuture<T> f) throws IOException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw new IOException("Input/output error (" + c.getMessage() + ")", c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    abstract long size() throws IOException;

    /** Reads up to len bytes at pos (fewer only at the end); returns the count, 0 at or past the end. */
    abstract int readAt(long pos, byte[] buf, int off, int len) throws IOException;

    /** Writes len bytes at pos; a disk refuses a range past its end with "No space left on device". */
    abstract void writeAt(long pos, byte[] buf, int off, int len) throws IOException;

    /** Truncates a host file (dd without conv=notrunc); nothing for a disk. */
    void truncate(long size) throws IOException {}

    void sync() throws IOException {}

    @Override
    public void close() throws IOException {}

    static final class BlockDev extends Dev {
        final Disk bf;
        final int ss;

        BlockDev(String name, Disk bf) {
            super(name);
            this.bf = bf;
            this.ss = bf.sectorSize();
        }

        @Override
        long size() {
            return bf.sectors() * 512;
        }

        @Override
        int readAt(long pos, byte[] buf, int off, int len) throws IOException {
            long size = size();
            if (pos >= size) return 0;
            len = (int) Math.min(len, size - pos);
            if (pos % ss == 0 && len % ss == 0) {
                await(bf.read(pos / ss, buf, off, len));
                return len;
            }
            long first = pos / ss;
            long end = (pos + len + ss - 1) / ss;
            byte[] tmp = new byte[(int) ((end - first) * ss)];
            await(bf.read(first, tmp, 0, tmp.length));
            System.arraycopy(tmp, (int) (pos - first * ss), buf, off, len);
            return len;
        }

        @Override
        void writeAt(long pos, byte[] buf, int off, int len) throws IOException {
            if (pos + len > size()) throw new IOException("No space left on device");
            if (bf.readOnly()) throw new IOException("Operation not permitted (read-only disk)");
            if (pos % ss == 0 && len % ss == 0) {
                await(bf.write(pos / ss, buf, off, len));
                return;
            }
            long first = pos / ss;
            long end = (pos + len + ss - 1) / ss;
            byte[] tmp = new byte[(int) ((end - first) * ss)];
            await(bf.read(first, tmp, 0, tmp.length));
            System.arraycopy(buf, off, tmp, (int) (pos - first * ss), len);
            await(bf.write(first, tmp, 0, tmp.length));
        }

        @Override
        void sync() throws IOException {
            if (bf.flushSupported()) await(bf.flush());
        }
    }

    static final class HostFile extends Dev {
        final FileChannel ch;

        HostFile(String name, FileChannel ch) {
            super(name);
            this.ch = ch;
        }

        @Override
        long size() throws IOException {
            return ch.size();
        }

        @Override
        int readAt(long pos, byte[] buf, int off, int len) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(buf, off, len);
            while (b.hasRemaining()) {
                int n = ch.read(b, pos + (b.position() - off));
                if (n < 0) break;
            }
            return b.position() - off;
        }

        @Override
        void writeAt(long pos, byte[] buf, int off, int len) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(buf, off, len);
            while (b.hasRemaining()) ch.write(b, pos + (b.position() - off));
        }

        @Override
        void truncate(long size) throws IOException {
            ch.truncate(size);
        }

        @Override
        void sync() throws IOException {
            ch.force(true);
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
