package org.jxen.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A temporary directory that goes with its owner: deleted with everything in it on {@link #close}, or by a
 * shutdown hook if the JVM is stopped first (Ctrl-C, SIGTERM), so an interrupted bench or demo leaves no disk
 * image or host run directory behind in /tmp (a 128 MiB image per interrupted {@code bench block} did).
 */
public final class ScratchDir implements AutoCloseable {
    private final Path path;
    private final Thread hook;

    private ScratchDir(Path path) {
        this.path = path;
        this.hook = new Thread(() -> delete(path), "scratch-dir-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** A new directory in the system's temporary directory, its name starting with {@code prefix}. */
    public static ScratchDir create(String prefix) throws IOException {
        return new ScratchDir(Files.createTempDirectory(prefix));
    }

    public Path path() {
        return path;
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            return; // the hook deletes it
        }
        delete(path);
    }

    /**
     * Deletes {@code dir} and everything below it as far as it can; links are deleted, not followed. What cannot be
     * deleted stays, with the directories that hold it.
     */
    public static void delete(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // in use or not ours: left, with its parents
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // the tree changed under the walk (its owner still deleting): what is left stays
        }
    }
}
