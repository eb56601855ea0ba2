package org.jxen.hypervisor.process;

import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jxen.hypervisor.CopyBatch;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;

/**
 * The guest's side of its {@link CopyPage}: GNTTABOP_copy without a socket round trip. A batch longer than
 * {@link CopyPage#MAX_OPS} is posted in consecutive chunks, which is what Xen does with a long batch anyway
 * (it runs ops in order and may preempt between them), so statuses and effects are the same.
 */
final class CopyClient implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final CopyPage page;
    private int sequence;

    CopyClient(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            this.page = new CopyPage(ch.map(FileChannel.MapMode.READ_WRITE, 0, CopyPage.SIZE, arena));
        } catch (java.io.IOException | RuntimeException e) {
            arena.close();
            throw e instanceof java.io.IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    /** One hypercall at a time per page: callers of a domain's grantCopy serialise here. */
    synchronized void copy(int[] ops, int count, int[] status) throws HypercallException {
        if (count < 0 || (long) count * CopyBatch.INTS > ops.length || count > status.length) {
            throw new HypercallException(Errno.EINVAL, count + " copy ops");
        }
        for (int from = 0; from < count; from += CopyPage.MAX_OPS) {
            int n = Math.min(CopyPage.MAX_OPS, count - from);
            page.writeOps(ops, from, n);
            page.setBeforePublish(CopyPage.COUNT, n);
            int previous = sequence++;
            page.publish(CopyPage.REQUEST, sequence, CopyPage.HOST_SLEEPING);
            if (!page.awaitChange(CopyPage.DONE, previous, CopyPage.GUEST_SLEEPING, CopyPage.TAKEN, sequence)) {
                throw new UncheckedIOException(new java.io.IOException("hypervisor connection lost"));
            }
            int result = page.get(CopyPage.RESULT);
            if (result != 0) throw new HypercallException(Errno.of(result), "grant copy refused");
            page.readStatus(status, from, n);
        }
    }

    @Override
    public synchronized void close() {
        arena.close();
    }
}
