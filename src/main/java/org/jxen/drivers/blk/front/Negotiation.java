package org.jxen.drivers.blk.front;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jxen.drivers.blk.Blkif;
import org.jxen.xenbus.XenbusDevice;
import org.jxen.xenstore.client.XsClient;

/**
 * What blkfront and blkback agree on, read from the backend's keys and blkfront's parameters: the rings to set
 * up when the backend is in InitWait (talk_to_blkback), the frontend's own feature keys, and the disk and its
 * features once the backend is Connected (blkfront_connect and blkfront_gather_backend_features).
 */
final class Negotiation {
    /** The rings to set up: {@code queues} rings of {@code 2^order} pages. */
    record Rings(int queues, int order) {}

    /**
     * The connected disk: its size in 512-byte sectors and sector size, read-only, the backend's flush and discard
     * support, whether both ends use persistent grants, and the segments one ring request carries (11, or the
     * indirect maximum both ends allow and the pool can hold).
     */
    record Features(long sectors, int sectorSize, boolean readOnly, boolean flush, boolean discard,
            boolean persistent, int segmentsPerRequest, boolean cdrom) {
        /** Before the first connection. */
        static final Features NONE = new Features(0, Blkif.SECTOR_SIZE, false, false, false, false,
                Blkif.MAX_SEGMENTS_PER_REQUEST, false);
    }

    private static final List<String> DETAILS = List.of("sectors", "sector-size", "info", "feature-flush-cache",
            "feature-discard", "feature-max-indirect-segments", "feature-persistent");

    private Negotiation() {}

    /** As many queues and ring pages as the backend offers, at most what {@code params} ask for. */
    static Rings rings(XenbusDevice dev, BlkFront.Params params) {
        int maxQueues = feature(dev, "multi-queue-max-queues", 1);
        int maxOrder = feature(dev, "max-ring-page-order", 0);
        return new Rings(Math.max(1, Math.min(maxQueues, params.maxQueues())),
                Math.max(0, Math.min(maxOrder, params.maxRingPageOrder())));
    }

    /** The frontend's keys next to its rings: the ABI and whether it offers persistent grants. */
    static void writeFrontendKeys(XenbusDevice dev, XsClient.Tx tx, BlkFront.Params params) throws IOException {
        dev.printf(tx, "protocol", "%s", Blkif.PROTOCOL_X86_64);
        dev.printf(tx, "feature-persistent", "%d", params.featurePersistent() ? 1 : 0);
    }

    /**
     * The backend's details, read in one transaction, and what follows from them; IOException if they are
     * unreadable or {@code sectors} is missing or not a number.
     */
    static Features features(XenbusDevice dev, BlkFront.Params params) throws IOException {
        Map<String, String> d = dev.xenbus().xenstore().transaction(tx -> {
            Map<String, String> m = new HashMap<>();
            for (String k : DETAILS) {
                String p = dev.otherendPath() + "/" + k;
                if (tx.exists(p)) m.put(k, tx.readString(p));
            }
            return m;
        });
        if (!d.containsKey("sectors")) throw new IOException("no sectors");
        long sectors;
        try {
            sectors = Long.parseLong(d.get("sectors").strip());
        } catch (NumberFormatException e) {
            throw new IOException("sectors: " + e.getMessage());
        }
        int indirect = number(d.get("feature-max-indirect-segments"), 0);
        int cap = Math.min(params.maxIndirectSegments(), params.poolPages() - Blkif.MAX_INDIRECT_PAGES_PER_REQUEST);
        int segments = indirect > Blkif.MAX_SEGMENTS_PER_REQUEST
                ? Math.max(Blkif.MAX_SEGMENTS_PER_REQUEST, Math.min(Math.min(indirect, Blkif.MAX_INDIRECT_SEGMENTS), cap))
                : Blkif.MAX_SEGMENTS_PER_REQUEST;
        return new Features(sectors, number(d.get("sector-size"), Blkif.SECTOR_SIZE),
                (number(d.get("info"), 0) & Blkif.VDISK_READONLY) != 0,
                number(d.get("feature-flush-cache"), 0) == 1,
                number(d.get("feature-discard"), 0) == 1,
                params.featurePersistent() && number(d.get("feature-persistent"), 0) == 1,
                segments, (number(d.get("info"), 0) & Blkif.VDISK_CDROM) != 0);
    }

    /** Whether the toolstack wants the backend kept ({@code online = 1}): then a closed connection is made again. */
    static boolean backendOnline(XenbusDevice dev) {
        try {
            String v = dev.readOtherend("online");
            return v != null && v.strip().equals("1");
        } catch (IOException e) {
            return false;
        }
    }

    private static int feature(XenbusDevice dev, String key, int dflt) {
        try {
            return Integer.parseInt(dev.readOtherend(key).strip());
        } catch (IOException | NumberFormatException e) {
            return dflt;
        }
    }

    private static int number(String v, int dflt) {
        if (v == null) return dflt;
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }
}
