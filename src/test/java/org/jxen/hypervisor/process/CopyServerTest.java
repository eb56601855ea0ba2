package org.jxen.hypervisor.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jxen.hypervisor.CopyBatch;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.GrantStatus;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the host does with a hypercall page a guest filled with anything it likes. */
class CopyServerTest {
    @TempDir
    Path dir;

    @Test
    void aHostileBatchIsRefusedOrFailedPerOpWithoutTrustingThePage() throws Exception {
        try (Hypervisor hv = new Hypervisor(dir.resolve("run"), 16);
             Hypercalls dom0 = hv.connect(0)) {
            int domid = dom0.domainControl().createDomain(8, 1);
            int notForHim = dom0.grantTable().grantAccess(0, 3, true);
            Path file = dir.resolve("page");
            try (CopyServer server = new CopyServer(hv.controlPlane(domid), file, "test-copy");
                 Arena arena = Arena.ofShared();
                 FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                CopyPage page = new CopyPage(ch.map(FileChannel.MapMode.READ_WRITE, 0, CopyPage.SIZE, arena));
                server.unlink();

                post(page, 1, CopyPage.MAX_OPS + 1);
                assertThat(page.get(CopyPage.RESULT)).isEqualTo(Errno.EINVAL.code);
                post(page, 2, -1);
                assertThat(page.get(CopyPage.RESULT)).isEqualTo(Errno.EINVAL.code);

                int[] ops = new int[3 * CopyBatch.INTS];
                ops[0] = 7; // a pointer kind that does not exist
                ops[CopyBatch.INTS + 4] = CopyBatch.FRAME; // a grant of dom0 to dom0, claimed by domid
                ops[CopyBatch.INTS + 2] = notForHim;
                ops[CopyBatch.INTS + 8] = 4;
                ops[2 * CopyBatch.INTS] = CopyBatch.FRAME; // own frames 5 -> 6: fine
                ops[2 * CopyBatch.INTS + 1] = 5;
                ops[2 * CopyBatch.INTS + 4] = CopyBatch.FRAME;
                ops[2 * CopyBatch.INTS + 5] = 6;
                ops[2 * CopyBatch.INTS + 8] = 16;
                page.writeOps(ops, 0, 3);
                post(page, 3, 3);
                assertThat(page.get(CopyPage.RESULT)).isZero();
                int[] status = new int[3];
                page.readStatus(status, 0, 3);
                assertThat(status).containsExactly(GrantStatus.BAD_COPY_ARG.code, GrantStatus.GENERAL_ERROR.code, 0);
                assertThat(dom0.grantTable().endAccess(notForHim)).isTrue();
            }
            assertThat(file).doesNotExist();
        }
    }

    private static void post(CopyPage page, int sequence, int count) {
        page.set(CopyPage.COUNT, count);
        page.publish(CopyPage.REQUEST, sequence, CopyPage.HOST_SLEEPING);
        assertThat(page.awaitChange(CopyPage.DONE, sequence - 1, CopyPage.GUEST_SLEEPING)).isTrue();
        assertThat(page.get(CopyPage.DONE)).isEqualTo(sequence);
    }
}
