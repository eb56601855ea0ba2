package org.jxen.toolstack;

import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * What a user is told when something of theirs is in the way (a path, a permission, a full disk): one line,
 * in the words of the C library's strerror where there is one, never a Java class name or a stack trace.
 */
public final class UserErrors {
    /** sun_path's size less its NUL: the longest path a Unix socket can be bound or connected at. */
    public static final int UNIX_PATH_MAX = 107;

    private UserErrors() {}

    /** One line for an exception, its causes searched for the file system's own reason. */
    public static String oneLine(Throwable e) {
        // A class the JVM could not read when first needed: at run time that is a process out of descriptors.
        if (e instanceof NoClassDefFoundError) {
            return "cannot load class " + e.getMessage().replace('/', '.') + " (is the process out of file descriptors?)";
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof FileSystemException f) return fileSystem(f);
        }
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        // An UncheckedIOException's message repeats its cause's class name: keep what the file system said.
        if (e instanceof java.io.UncheckedIOException u && u.getCause() != null && m.endsWith(": " + u.getCause())) {
            m = m.substring(0, m.length() - u.getCause().toString().length()) + u.getCause().getMessage();
        }
        if (m.contains("No space left on device")) return m.replaceAll("^[a-zA-Z.]+Exception: ", "");
        return m.replace('\n', ' ');
    }

    private static String fileSystem(FileSystemException f) {
        String file = f.getFile();
        if (f instanceof AccessDeniedException) return file + ": Permission denied";
        if (f instanceof NoSuchFileException) return file + ": No such file or directory";
        if (f instanceof FileAlreadyExistsException) return file + ": File exists (and is not a directory)";
        if (f instanceof NotDirectoryException) return file + ": Not a directory";
        String reason = f.getReason();
        return (file != null ? file + ": " : "") + (reason != null ? reason : f.getClass().getSimpleName())
                + (f.getOtherFile() != null ? " (" + f.getOtherFile() + ")" : "");
    }

    /**
     * Null if a Unix socket can live at {@code socket}, else why not: its absolute path is longer than
     * {@link #UNIX_PATH_MAX} bytes, with a shorter directory to use instead.
     */
    public static String socketPathProblem(Path socket, String option) {
        String abs = socket.toAbsolutePath().normalize().toString();
        int n = abs.getBytes(StandardCharsets.UTF_8).length;
        if (n <= UNIX_PATH_MAX) return null;
        return "the socket path " + abs + " is " + n + " bytes, over the " + UNIX_PATH_MAX + "-byte limit of Unix"
                + " socket paths; use a shorter " + option + " (e.g. /tmp/jxen)";
    }
}
