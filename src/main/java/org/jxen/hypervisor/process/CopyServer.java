package org.jxen.hypervisor.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jxen.hypervisor.ControlPlane;
import org.jxen.hypervisor.CopyBatch;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;

/**
 * The host's side of one guest's {@link CopyPage}: a thread that executes the batches the guest posts, through
 * the same authenticated {@link ControlPlane} the session's RPCs use, so the hypervisor validates a batch from
 * the page exactly as one from any other caller. The guest's data never goes through the socket.
 */
final class CopyServer implements AutoCloseable {
    private final ControlPlane cp;
    private final Path file;
    private final Arena arena = Arena.ofShared();
    private final CopyPage page;
    private final int[] ops = new int[CopyPage.MAX_OPS * CopyBatch.INTS];
    private final int[] status = new int[CopyPage.MAX_OPS];
    private final Thread thread;

    /** Creates the page file at {@code file} (which must not exist) and starts serving it. */
    CopyServer(ControlPlane cp, Path file, String threadName) throws IOException {
        this.cp = cp;
        this.file = file;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ch.truncate(CopyPage.SIZE);
            this.page = new CopyPage(ch.map(FileChannel.MapMode.READ_WRITE, 0, CopyPage.SIZE, arena));
        } catch (IOException | RuntimeException e) {
            arena.close();
            Files.deleteIfExists(file);
            throw e;
        }
        this.thread = Thread.ofPlatform().daemon().name(threadName).start(this::serve);
    }

    Path file() {
        return file;
    }

    /** The guest has mapped the page: from now on only the two mappings reach it. */
    void unlink() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void serve() {
        int seen = 0;
        while (page.awaitChange(CopyPage.REQUEST, seen, CopyPage.HOST_SLEEPING)) {
            seen = page.get(CopyPage.REQUEST);
            page.mark(CopyPage.TAKEN, seen); // the guest may spin on: we are running
            page.setBeforePublish(CopyPage.RESULT, execute());
            page.publish(CopyPage.DONE, seen, CopyPage.GUEST_SLEEPING);
        }
    }

    /** Runs the posted batch from a private snapshot; the result word's value. */
    private int execute() {
        int count = page.get(CopyPage.COUNT);
        if (count < 0 || count > CopyPage.MAX_OPS) return Errno.EINVAL.code;
        page.readOps(ops, count);
        try {
            cp.grantCopy(ops, count, status);
        } catch (HypercallException e) {
            return e.errno().code;
        } catch (RuntimeException e) {
            // As on the socket: the guest gets an error, the session survives.
            System.err.println("hv-copy: batch failed: " + e);
            return Errno.ENOMEM.code;
        }
        page.writeStatus(status, count);
        return 0;
    }

    @Override
    public void close() {
        page.close();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        unlink();
        arena.close();
    }
}
