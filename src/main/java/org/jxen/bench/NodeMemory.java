package org.jxen.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Path;
import java.util.Locale;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsType;

/**
 * Heap cost of a stored node in a xenstored running in this JVM (only there is its heap ours to measure).
 * Writes N leaves with 16-byte values, 100 per parent so no single child list dominates, and divides the
 * growth of the heap after full GCs by the nodes created (leaves plus their parents).
 */
public final class NodeMemory {
    private static final int PER_PARENT = 100;
    private static final String ROOT = "/bench/nodes";

    public record Result(long nodes, long heapBefore, long heapAfter) {
        public double bytesPerNode() {
            return nodes == 0 ? 0 : (double) (heapAfter - heapBefore) / nodes;
        }

        public String describe() {
            return String.format(Locale.ROOT,
                    "memory per stored node: %.0f bytes (%d nodes with %d-byte values; heap %d -> %d bytes)",
                    bytesPerNode(), nodes, XenStoreBench.VALUE.length, heapBefore, heapAfter);
        }

        public String toJson() {
            return String.format(Locale.ROOT,
                    "{\"workload\":\"nodes\",\"nodes\":%d,\"heap_before\":%d,\"heap_after\":%d,\"bytes_per_node\":%.1f}",
                    nodes, heapBefore, heapAfter, bytesPerNode());
        }
    }

    private NodeMemory() {}

    public static Result measure(Path socket, int leaves) throws IOException {
        try (BenchConnection c = BenchConnection.open(socket)) {
            c.callOk(XsType.WRITE, Payloads.strings(ROOT)); // the root and its parents exist before the baseline
            long before = usedHeapAfterGc();
            c.callAllOk(leaves, i -> XenStoreBench.write(ROOT + "/g" + i / PER_PARENT + "/n" + i % PER_PARENT), 64);
            long after = usedHeapAfterGc();
            c.callOk(XsType.RM, Payloads.strings(ROOT));
            long parents = (leaves + PER_PARENT - 1) / PER_PARENT;
            return new Result(leaves + parents, before, after);
        }
    }

    /** Used heap after a few full collections, so that garbage from earlier work does not count. */
    private static long usedHeapAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
