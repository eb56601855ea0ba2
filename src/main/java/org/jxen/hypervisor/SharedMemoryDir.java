package org.jxen.hypervisor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Where a hypervisor keeps its domains' memory, grant-table, event and hypercall-page files: a directory of its
 * own on tmpfs ({@code /dev/shm/jxen-<pid>-<start>-<n>}), reachable from the run directory as the symlink
 * {@code shm}. Guest memory is RAM: in a file on a disk file system (the run directory usually is one) every
 * page a guest or backend writes through its mapping is dirty page cache, which the kernel writes back to the
 * disk and then write-protects again, so the next write faults. A 1 MiB read into a blkfront pool page cost
 * ~47 us that way against ~35 us for the same read into anonymous memory.
 *
 * <p>tmpfs is not freed when a process dies, so a host that was killed leaves its directory behind: each new
 * hypervisor deletes the directories whose owner (pid and start time in the name) no longer runs. Without a
 * writable /dev/shm the files stay in the run directory, as before.
 */
final class SharedMemoryDir {
    static final Path TMPFS = Path.of("/dev/shm");
    static final String LINK = "shm";
    private static final String PREFIX = "jxen-";

    private SharedMemoryDir() {
    }

    /** A new directory for a hypervisor whose run directory is {@code runDir}; or {@code runDir} itself. */
    static Path create(Path runDir) {
        if (!Files.isDirectory(TMPFS) || !Files.isWritable(TMPFS)) return runDir;
        sweepStale();
        ProcessHandle me = ProcessHandle.current();
        Path dir = TMPFS.resolve(PREFIX + me.pid() + "-" + startMillis(me).orElse(0L) + "-"
                + Integer.toUnsignedString(ThreadLocalRandom.current().nextInt(), 36));
        try {
            Files.createDirectory(dir);
            Path link = runDir.resolve(LINK);
            if (Files.isSymbolicLink(link)) Files.delete(link); // a killed host's
            if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) Files.createSymbolicLink(link, dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /** Deletes what {@link #create} made: the directory with the files left in it, and the symlink. */
    static void delete(Path runDir, Path dir) {
        if (dir.equals(runDir)) return;
        try {
            deleteTree(dir);
            Path link = runDir.resolve(LINK);
            if (Files.isSymbolicLink(link) && Files.readSymbolicLink(link).equals(dir)) Files.delete(link);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Deletes {@code dir} with its files if it is a hypervisor's tmpfs directory whose owner no longer runs; what a
     * guest process does when its host died. Returns whether it deleted it.
     */
    static boolean deleteOrphan(Path dir) {
        Path name = dir.getFileName();
        if (name == null || !TMPFS.equals(dir.getParent()) || !name.toString().startsWith(PREFIX)
                || ownerRuns(name.toString())) {
            return false;
        }
        try {
            deleteTree(dir);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The owner's pid in a directory name {@code jxen-<pid>-<start>-<n>}, or -1. */
    static long ownerPid(String name) {
        String[] f = name.split("-");
        if (f.length != 4 || !name.startsWith(PREFIX)) return -1;
        try {
            return Long.parseLong(f[1]);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void sweepStale() {
        try (DirectoryStream<Path> all = Files.newDirectoryStream(TMPFS, PREFIX + "*")) {
            for (Path d : all) {
                if (!ownerRuns(d.getFileName().toString())) deleteTree(d);
            }
        } catch (IOException | UncheckedIOException e) {
            // Another host's directory is not ours to fail on: a stale one stays until the next sweep.
        }
    }

    /** Whether the process named by {@code jxen-<pid>-<start>-<n>} still runs (an unparsable name: assume so). */
    static boolean ownerRuns(String name) {
        String[] f = name.split("-");
        if (f.length != 4) return true;
        try {
            long pid = Long.parseLong(f[1]);
            long start = Long.parseLong(f[2]);
            Optional<ProcessHandle> p = ProcessHandle.of(pid);
            // A pid reused by another process has another start time.
            return p.isPresent() && startMillis(p.get()).map(s -> s == start).orElse(true);
        } catch (NumberFormatException e) {
            return true;
        }
    }

    private static Optional<Long> startMillis(ProcessHandle p) {
        return p.info().startInstant().map(i -> i.toEpochMilli());
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) Files.deleteIfExists(f);
        }
        Files.deleteIfExists(dir);
    }
}
