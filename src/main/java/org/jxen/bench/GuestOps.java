package org.jxen.bench;

import java.util.ArrayList;
import java.util.List;
import org.jxen.hypervisor.CopyBatch;
import org.jxen.hypervisor.GrantCopy;
import org.jxen.hypervisor.GrantEntry;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.Hypercalls;

/** The timed grant operations, written once for whichever domain (in the host or in a guest JVM) issues them. */
final class GuestOps {
    static final int COPY_BATCH = 64;
    static final int PAGE = GrantEntry.PAGE_SIZE;

    private GuestOps() {
    }

    /** GNTTABOP_map_grant_ref then unmap of one writable grant: one operation is the pair. */
    static TimedLoop.Op mapUnmap(Hypercalls hc, int granter, int ref) {
        return () -> {
            GrantMapping m = hc.mapGrant(granter, ref, false);
            hc.unmapGrant(m.handle());
            return 0;
        };
    }

    /**
     * GNTTABOP_copy hypercalls of {@link #COPY_BATCH} whole pages each: the granter's refs into the caller's frames
     * from {@code firstFrame}. With more refs than one batch, successive calls cycle through the batches, so the
     * working set can be made larger than the caches.
     */
    static TimedLoop.Op copyBatch(Hypercalls hc, int granter, int[] refs, int firstFrame) {
        int batches = Math.max(1, refs.length / COPY_BATCH);
        CopyBatch[] all = new CopyBatch[batches];
        for (int b = 0; b < batches; b++) {
            List<GrantCopy> ops = new ArrayList<>(COPY_BATCH);
            for (int i = b * COPY_BATCH; i < Math.min(refs.length, (b + 1) * COPY_BATCH); i++) {
                ops.add(new GrantCopy(new GrantCopy.Ref(granter, refs[i], 0), new GrantCopy.Frame(firstFrame + i, 0), PAGE));
            }
            // Encoded once and reused, as a backend keeps its gnttab_copy array: the loop measures the hypercall.
            all[b] = CopyBatch.of(ops);
        }
        int[] next = {0};
        return () -> {
            CopyBatch batch = all[next[0]];
            next[0] = (next[0] + 1) % batches;
            hc.grantCopy(batch);
            // Every op's status, in one loop: the guest JVM runs C1 only, where a call per op costs ~0.2 us a batch.
            return batch.failures();
        };
    }
}
