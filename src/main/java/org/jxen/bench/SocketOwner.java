package org.jxen.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which process listens on a Unix socket path (Linux): the listening socket's inode from /proc/net/unix, then
 * the process holding a descriptor to it. How the bench finds a daemon it did not start (C xenstored) to
 * account its CPU time.
 */
final class SocketOwner {
    /** __SO_ACCEPTCON in /proc/net/unix's Flags column: a listening socket. */
    private static final int ACCEPTING = 0x10000;

    private SocketOwner() {}

    /** The pid, or 0 if no process (that this user may see) listens on {@code socket}. */
    static long pid(Path socket) throws IOException {
        String want = socket.toAbsolutePath().normalize().toString();
        String inode = null;
        for (String line : Files.readAllLines(Path.of("/proc/net/unix"))) {
            String[] f = line.trim().split("\\s+");
            // Num RefCount Protocol Flags Type St Inode Path
            if (f.length < 8 || !f[7].equals(want)) continue;
            try {
                if ((Integer.parseInt(f[3], 16) & ACCEPTING) != 0) inode = f[6];
            } catch (NumberFormatException header) {
                // The first line names the columns.
            }
        }
        if (inode == null) return 0;
        String target = "socket:[" + inode + "]";
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path proc : procs) {
                try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
                    for (Path fd : fds) {
                        try {
                            if (Files.readSymbolicLink(fd).toString().equals(target)) return Long.parseLong(proc.getFileName().toString());
                        } catch (IOException gone) {
                            // Closed while we looked.
                        }
                    }
                } catch (IOException notOurs) {
                    // Exited, or not ours to look at.
                }
            }
        }
        return 0;
    }
}
