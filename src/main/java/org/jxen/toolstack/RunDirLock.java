package org.jxen.toolstack;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A run directory belongs to one host: an flock on {@code <run-dir>/host.lock}, taken before anything else in the
 * directory is touched and held for the host's life (the kernel drops it when the process ends, however it
 * ends). The file holds the owner's pid, for the message a second host prints. The file itself stays: deleting
 * a lock file lets two hosts lock two different files.
 */
public final class RunDirLock implements AutoCloseable {
    /** The lock file's name in the run directory. */
    public static final String FILE = "host.lock";

    private final FileChannel channel;
    private final FileLock lock;

    /** The run directory is held by another host (its pid, or -1 when it has not written it yet). */
    public static final class HeldException extends IOException {
        private final long pid;

        HeldException(Path runDir, long pid) {
            super(runDir + " is in use by the jxen host with pid " + (pid < 0 ? "(unknown)" : Long.toString(pid)));
            this.pid = pid;
        }

        public long pid() {
            return pid;
        }
    }

    private RunDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Creates the run directory if needed and locks it, or throws {@link HeldException} naming its owner. */
    public static RunDirLock acquire(Path runDir) throws IOException {
        Files.createDirectories(runDir);
        Path file = runDir.resolve(FILE);
        // No TRUNCATE_EXISTING: the running owner's pid must survive our open.
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException sameJvm) {
            lock = null;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            long pid = readPid(ch);
            ch.close();
            throw new HeldException(runDir, pid);
        }
        try {
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            ch.force(false);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return new RunDirLock(ch, lock);
    }

    private static long readPid(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(32);
        ch.read(b, 0);
        String s = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).strip();
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public void close() throws IOException {
        if (channel.isOpen()) {
            lock.release();
            channel.close();
        }
    }
}
