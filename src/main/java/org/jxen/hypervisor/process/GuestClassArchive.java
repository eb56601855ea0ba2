package org.jxen.hypervisor.process;

import java.io.File;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A class-data archive of the classes a guest JVM loads, jxen's own among them, shared by every guest process
 * of a machine (CDS: the JVM maps the archive's class metadata read-only instead of parsing each class into
 * private memory). The JDK's own archive holds only JDK classes; jxen's are about 4 MB of each guest's private
 * memory (docs/host.md, "Guest processes").
 *
 * <p>How it is made, without a build step: the first guest launched while there is no archive records the
 * classes it loads ({@code -XX:DumpLoadedClassList}); once that list has stopped growing (the guest has booted)
 * the archive is dumped from it in a child JVM ({@code -Xshare:dump}), with the guests' own options so that the
 * two agree, and guests launched afterwards map it. It is kept under the user's cache directory, named by a
 * digest of everything the JVM checks it against (the JDK, the class path's files with their sizes and times,
 * the options), so the next host on this machine starts with it; a changed jar or JDK makes a new name. Nothing
 * here is needed for a guest to run: an archive missing, stale or refused just leaves guests loading classes
 * from the jar, silently ({@code -Xlog:cds=off}).
 *
 * <p>Only for guests on the host's own class path: a guest with a kernel image of its own ({@code kernel =})
 * has other jars in front of it, which no shared archive matches.
 */
final class GuestClassArchive {
    private static final System.Logger LOG = System.getLogger("jxen.hypervisor");
    /** How long the training guest's class list must stay the same size to count as its boot's end. */
    private static final long SETTLED_MS = 2000;
    /** Give up waiting for it to settle, and dump what it holds, after this long. */
    private static final long TRAINING_LIMIT_MS = 120_000;
    /** Archives of other jars or JDKs kept in the cache. */
    private static final int KEPT = 4;

    private final String javaBin;
    private final List<String> jvmOptions;
    private final String classPath;
    private final Path archive;
    /** The training guest's class list: in the host's own directory, which goes with the host. */
    private final Path classList;

    private enum State { NONE, TRAINING, FAILED }

    private State state = State.NONE;
    private Thread trainer;

    private GuestClassArchive(String javaBin, List<String> jvmOptions, String classPath, Path cacheDir, Path workDir) {
        this.javaBin = javaBin;
        this.jvmOptions = List.copyOf(jvmOptions);
        this.classPath = classPath;
        String key = key(javaBin, jvmOptions, classPath);
        this.archive = cacheDir.resolve("guest-" + key + ".jsa");
        this.classList = workDir.resolve("guest-" + key + ".classlist");
    }

    /**
     * The archive for guests of {@code java} with these options and class path, in {@code $XDG_CACHE_HOME/jxen}
     * (else {@code ~/.cache/jxen}, else {@code workDir}); {@code workDir} (the host's) holds the class list.
     */
    static GuestClassArchive of(String javaBin, List<String> jvmOptions, String classPath, Path workDir) {
        return new GuestClassArchive(javaBin, jvmOptions, classPath, cacheDirectory(workDir), workDir);
    }

    /**
     * Whether guests of this class path can have an archive: the JVM archives classes from jars only (a class
     * directory, as a build's {@code target/classes}, makes the dump fail).
     */
    static boolean possibleFor(String classPath) {
        for (String entry : classPath.split(File.pathSeparator)) {
            if (entry.isEmpty() || !Files.isRegularFile(Path.of(entry))) return false;
        }
        return true;
    }

    private static Path cacheDirectory(Path fallback) {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        Path dir = base.resolve("jxen");
        try {
            Files.createDirectories(dir);
            if (Files.isWritable(dir)) return dir;
        } catch (IOException | SecurityException e) {
            LOG.log(Level.DEBUG, "no cache directory {0}: {1}", dir, e.toString());
        }
        return fallback;
    }

    /**
     * The options for the next guest's JVM: the archive when it exists; else, for the first guest to ask, the
     * class list to record (and a thread that dumps the archive once that guest has booted); else none. A
     * training that failed is not tried again by this host: it would fail the same way.
     */
    synchronized List<String> options() {
        if (Files.isRegularFile(archive)) return List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:cds=off,aot=off");
        if (state != State.NONE) return List.of();
        state = State.TRAINING;
        trainer = Thread.ofVirtual().name("guest-class-archive").start(this::dumpWhenSettled);
        return List.of("-XX:DumpLoadedClassList=" + classList);
    }

    /** Waits for the training guest's class list to stop growing, then dumps the archive from it. */
    private void dumpWhenSettled() {
        boolean made = false;
        try {
            long start = System.nanoTime();
            long size = -1;
            long sameSince = start;
            while (System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(TRAINING_LIMIT_MS)) {
                Thread.sleep(250);
                long now = Files.isRegularFile(classList) ? Files.size(classList) : -1;
                if (now != size) {
                    size = now;
                    sameSince = System.nanoTime();
                } else if (size > 0 && System.nanoTime() - sameSince >= TimeUnit.MILLISECONDS.toNanos(SETTLED_MS)) {
                    break;
                }
            }
            if (size > 0) {
                dump();
                made = true;
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "guest class archive not made: {0}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                Files.deleteIfExists(classList);
            } catch (IOException e) {
                LOG.log(Level.DEBUG, "{0}: {1}", classList, e.toString());
            }
            synchronized (this) {
                state = made ? State.NONE : State.FAILED;
            }
        }
    }

    /** Stops a training under way (its class list is the host's, and goes with it). */
    void close() {
        Thread t;
        synchronized (this) {
            t = trainer;
        }
        if (t == null) return;
        t.interrupt();
        try {
            t.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code java -Xshare:dump} with the guests' options, into a temporary file renamed into place. */
    private void dump() throws IOException, InterruptedException {
        Path tmp = archive.resolveSibling(archive.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBin);
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions);
        cmd.add("-Xshare:dump");
        cmd.add("-Xlog:cds=off,aot=off");
        cmd.add("-XX:SharedClassListFile=" + classList);
        cmd.add("-XX:SharedArchiveFile=" + tmp);
        cmd.add("-cp");
        cmd.add(classPath);
        Path log = archive.resolveSibling(archive.getFileName() + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("java -Xshare:dump took over 120 s (" + log + ")");
            }
            if (p.exitValue() != 0 || !Files.isRegularFile(tmp)) {
                throw new IOException("java -Xshare:dump exited " + p.exitValue() + " (" + log + ")");
            }
            Files.move(tmp, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Files.deleteIfExists(log);
            LOG.log(Level.INFO, "guest class archive made: {0}", archive);
            pruneOthers();
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Each rebuilt jar makes a new archive (about 17 MB): the cache keeps the {@value #KEPT} newest besides this
     * one. A guest still running on a deleted one keeps its mapping.
     */
    private void pruneOthers() {
        try (var files = Files.list(archive.getParent())) {
            List<Path> others = files.filter(f -> !f.equals(archive)).filter(f -> {
                String n = f.getFileName().toString();
                return n.startsWith("guest-") && n.endsWith(".jsa");
            }).sorted(Comparator.comparing(GuestClassArchive::modified).reversed()).toList();
            for (Path old : others.subList(Math.min(KEPT, others.size()), others.size())) Files.deleteIfExists(old);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "pruning {0}: {1}", archive.getParent(), e.toString());
        }
    }

    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    /** What the JVM checks an archive against, as a name: a different JDK, jar or option is a different file. */
    private static String key(String javaBin, List<String> jvmOptions, String classPath) {
        StringBuilder sb = new StringBuilder(javaBin).append('\n').append(System.getProperty("java.vm.version")).append('\n');
        for (String o : jvmOptions) sb.append(o).append('\n');
        for (String entry : classPath.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            sb.append(p.toAbsolutePath());
            try {
                sb.append(' ').append(Files.size(p)).append(' ').append(Files.getLastModifiedTime(p).toMillis());
            } catch (IOException e) {
                sb.append(" missing");
            }
            sb.append('\n');
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
