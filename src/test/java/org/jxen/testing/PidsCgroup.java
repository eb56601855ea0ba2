package org.jxen.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A pids cgroup of a test's own, to run a process out of threads without touching the machine's limits: the
 * cgroup v1 pids hierarchy where it is mounted, else cgroup v2 (the pids controller enabled at the root). Closing
 * it moves what is still inside back to the root and removes it.
 */
public final class PidsCgroup implements AutoCloseable {
    private static final Path V1 = Path.of("/sys/fs/cgroup/pids");
    private static final Path V2 = Path.of("/sys/fs/cgroup");

    private final Path root;
    private final Path dir;

    private PidsCgroup(Path root, Path dir) {
        this.root = root;
        this.dir = dir;
    }

    public static PidsCgroup create(String name) throws IOException {
        Path root;
        if (Files.isRegularFile(V1.resolve("cgroup.procs"))) {
            root = V1;
        } else if (Files.isRegularFile(V2.resolve("cgroup.controllers"))
                && read(V2.resolve("cgroup.controllers")).contains("pids")) {
            root = V2;
            if (!read(V2.resolve("cgroup.subtree_control")).contains("pids")) {
                Files.writeString(V2.resolve("cgroup.subtree_control"), "+pids");
            }
        } else {
            throw new IOException("no cgroup pids controller on this machine (neither " + V1 + " nor cgroup v2's)");
        }
        Path dir = root.resolve(name);
        Files.createDirectory(dir);
        return new PidsCgroup(root, dir);
    }

    /** Moves process {@code pid} (all its threads) in; its later children start inside too. */
    public void add(long pid) throws IOException {
        Files.writeString(dir.resolve("cgroup.procs"), Long.toString(pid));
    }

    /** Tasks (threads) inside now. */
    public long current() throws IOException {
        return Long.parseLong(read(dir.resolve("pids.current")).strip());
    }

    /** No more than {@code max} tasks inside: creating one more fails with EAGAIN. */
    public void limit(long max) throws IOException {
        Files.writeString(dir.resolve("pids.max"), Long.toString(max));
    }

    private static String read(Path p) throws IOException {
        // Some kernel files read short through Files.readString; read the stream whole.
        try (var in = Files.newInputStream(p)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    @Override
    public void close() {
        try {
            for (String pid : read(dir.resolve("cgroup.procs")).split("\\s+")) {
                if (pid.isEmpty()) continue;
                try {
                    Files.writeString(root.resolve("cgroup.procs"), pid);
                } catch (IOException exited) {
                    // It ended meanwhile.
                }
            }
            Files.delete(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("removing " + dir, e);
        }
    }
}
