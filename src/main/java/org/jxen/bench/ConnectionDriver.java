package org.jxen.bench;

import java.io.IOException;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;

/**
 * Drives one connection: keeps one operation in flight per pipeline slot until the measurement window
 * closes, then lets the operations in flight finish. Only operations that began inside the window count.
 * A slot's req_ids are {@code slot + slots * k}, so a reply finds its slot even if the daemon reorders.
 */
final class ConnectionDriver {
    private ConnectionDriver() {}

    static Tally run(BenchConnection conn, Operation[] slots, long windowStart, long windowEnd) {
        Tally tally = new Tally();
        int n = slots.length;
        int seqLimit = Integer.MAX_VALUE / n;
        long[] began = new long[n];
        int[] expectedReqId = new int[n];
        int[] seq = new int[n];
        int inFlight = 0;
        try {
            for (int s = 0; s < n; s++) {
                began[s] = System.nanoTime();
                expectedReqId[s] = s;
                conn.send(slots[s].begin(), s);
                inFlight++;
            }
            while (inFlight > 0) {
                XsMessage reply = conn.receive();
                if (reply.type() == XsType.WATCH_EVENT.code) continue;
                int slot = Integer.remainderUnsigned(reply.reqId(), n);
                if (reply.reqId() != expectedReqId[slot]) {
                    throw new IOException("reply with req_id " + Integer.toUnsignedString(reply.reqId())
                            + ", expected " + expectedReqId[slot]);
                }
                seq[slot] = (seq[slot] + 1) % seqLimit;
                expectedReqId[slot] = slot + n * seq[slot];
                XsMessage next = slots[slot].onReply(reply);
                if (next != null) {
                    conn.send(next, expectedReqId[slot]);
                    continue;
                }
                long now = System.nanoTime();
                if (began[slot] - windowStart >= 0 && began[slot] - windowEnd < 0) tally.completed(now - began[slot], slots[slot]);
                if (now - windowEnd < 0) {
                    began[slot] = now;
                    conn.send(slots[slot].begin(), expectedReqId[slot]);
                } else {
                    inFlight--;
                }
            }
        } catch (IOException e) {
            tally.error(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
        return tally;
    }
}
