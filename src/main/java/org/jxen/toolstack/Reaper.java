package org.jxen.toolstack;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.RunDir;
import org.jxen.hypervisor.process.HypervisorService;

/**
 * What a host that did not shut down cleanly (SIGKILL, a crash) left in its run directory, removed by the next
 * host before it starts: guest processes still running (named by their pid files, and only if the process's
 * command line names this run directory's hypervisor socket, so a reused pid is never killed), the shared-memory
 * directory on tmpfs the {@code hv/shm} link points to, the link, the sockets, and the bridge it created
 * ({@link HostBridge}: only the interface it made, by name and index). Call it with the run
 * directory's {@link RunDirLock} held: no live host then owns anything here.
 */
public final class Reaper {
    private static final long KILL_WAIT_SECONDS = 10;
    /** The host's sockets, relative to the run directory. */
    private static final List<String> SOCKETS = List.of("hv/" + RunDir.SOCKET, Host.XENSTORED_SOCKET,
            XenstoredProcess.DEVICES, ControlServer.SOCKET_NAME);

    private Reaper() {
    }

    /** Removes what a previous host of {@code runDir} left; one line per thing removed (none after a clean stop). */
    public static List<String> reap(Path runDir) throws IOException {
        List<String> done = new ArrayList<>();
        Path hv = runDir.resolve("hv");
        if (Files.isDirectory(hv, LinkOption.NOFOLLOW_LINKS)) {
            reapGuests(hv, done);
            reapSharedMemory(hv, done);
        }
        reapXenstored(runDir, done);
        String bridge = HostBridge.reap(runDir);
        if (bridge != null) done.add(bridge);
        for (String s : SOCKETS) {
            Path socket = runDir.resolve(s);
            if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(socket, LinkOption.NOFOLLOW_LINKS)) {
                Files.delete(socket);
                done.add("removed stale socket " + socket);
            }
        }
        return done;
    }

    private static void reapGuests(Path hv, List<String> done) throws IOException {
        List<Path> pidFiles = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(hv, "d*" + HypervisorService.PID_SUFFIX)) {
            ds.forEach(pidFiles::add);
        }
        pidFiles.sort(null);
        for (Path f : pidFiles) {
            String name = f.getFileName().toString();
            String domid = name.substring(1, name.length() - HypervisorService.PID_SUFFIX.length());
            Optional<ProcessHandle> guest = readPid(f).flatMap(ProcessHandle::of)
                    .filter(p -> p.isAlive() && namesSocket(p, hv));
            if (guest.isPresent()) {
                ProcessHandle p = guest.get();
                p.destroyForcibly();
                try {
                    p.onExit().get(KILL_WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while killing guest process " + p.pid());
                } catch (ExecutionException | TimeoutException e) {
                    throw new IOException("guest process " + p.pid() + " left by the previous host does not die");
                }
                done.add("killed guest process " + p.pid() + " (domain " + domid + ") left running by the previous host");
            }
            Files.deleteIfExists(f);
            if (guest.isEmpty()) done.add("removed stale pid file " + f);
        }
    }

    /** The xenstored process a crashed host left, if its command line names this directory's xenstored socket. */
    private static void reapXenstored(Path runDir, List<String> done) throws IOException {
        Path pidFile = runDir.resolve(XenstoredProcess.PID);
        if (!Files.exists(pidFile)) return;
        String ours = runDir.resolve(Host.XENSTORED_SOCKET).toAbsolutePath().toString();
        Optional<ProcessHandle> daemon = readPid(pidFile).flatMap(ProcessHandle::of).filter(p -> p.isAlive()
                && java.util.Arrays.asList(p.info().arguments().orElse(new String[0])).contains(ours));
        if (daemon.isPresent()) {
            ProcessHandle p = daemon.get();
            p.destroyForcibly();
            try {
                p.onExit().get(KILL_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while killing xenstored " + p.pid());
            } catch (ExecutionException | TimeoutException e) {
                throw new IOException("xenstored " + p.pid() + " left by the previous host does not die");
            }
            done.add("killed xenstored (pid " + p.pid() + ") left running by the previous host");
        }
        Files.deleteIfExists(pidFile);
        if (daemon.isEmpty()) done.add("removed stale pid file " + pidFile);
    }

    private static Optional<Long> readPid(Path f) {
        try {
            return Optional.of(Long.parseLong(Files.readString(f).strip()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Whether the process's command line names this hypervisor directory's socket, as a guest's does. */
    private static boolean namesSocket(ProcessHandle p, Path hv) {
        String[] args = p.info().arguments().orElse(new String[0]);
        Path ours = hv.toAbsolutePath().resolve(RunDir.SOCKET);
        for (String a : args) {
            if (a.equals(ours.toString())) return true;
            if (!a.endsWith("/" + RunDir.SOCKET)) continue;
            try {
                Path parent = Path.of(a).getParent();
                if (parent != null && Files.isSameFile(parent, hv)) return true;
            } catch (IOException | RuntimeException e) {
                // Not a path of ours.
            }
        }
        return false;
    }

    private static void reapSharedMemory(Path hv, List<String> done) throws IOException {
        Path link = hv.resolve("shm");
        if (Files.isSymbolicLink(link)) {
            Path target = Files.readSymbolicLink(link);
            if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                long files = count(target);
                long owner = Hypervisor.sharedMemoryOwner(target);
                if (Hypervisor.deleteOrphanedSharedMemory(target)) {
                    done.add("removed shared memory " + target + " (" + files + " file" + (files == 1 ? "" : "s")
                            + ") of the previous host"
                            + (owner >= 0 ? " (pid " + owner + ")" : ""));
                }
            }
            Files.delete(link);
            done.add("removed stale link " + link + " -> " + target);
        }
        // Without a writable /dev/shm the domain files live in hv/ itself.
        List<Path> domainFiles = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(hv, "d*.{mem,gnt,evt,hcall}")) {
            ds.forEach(domainFiles::add);
        }
        for (Path f : domainFiles) Files.deleteIfExists(f);
        if (!domainFiles.isEmpty()) done.add("removed " + domainFiles.size() + " domain file" + (domainFiles.size() == 1 ? "" : "s")
                + " from " + hv);
    }

    private static long count(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        } catch (IOException e) {
            return 0;
        }
    }
}
