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

    /** One GNTTABOP_copy hypercall of whole pages: granter's refs into the caller's frames from {@code firstFrame}. */
    static TimedLoop.Op copyBatch(Hypercalls hc, int granter, int[] refs, int firstFrame) {
        List<GrantCopy> ops = new ArrayList<>(refs.length);
        for (int i = 0; i < refs.length; i++) {
            ops.add(new GrantCopy(new GrantCopy.Ref(granter, refs[i], 0), new GrantCopy.Frame(firstFrame + i, 0), PAGE));
        }
        // Encoded once and reused, as a backend keeps its gnttab_copy array: the loop measures the hypercall.
        CopyBatch batch = CopyBatch.of(ops);
        return () -> {
            hc.grantCopy(batch);
            long failed = 0;
            for (int i = 0; i < batch.count(); i++) {
                if (batch.status(i) != 0) failed++;
            }
            return failed;
        };
    }
}
