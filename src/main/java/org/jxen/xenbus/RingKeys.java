package org.jxen.xenbus;

import java.util.List;

/**
 * How a frontend names its shared rings in the store, by Xen's conventions: each queue has the same rings,
 * {@code <ring>-ring-ref} (or {@code ring-ref} for the unnamed ring) with one page, {@code <ring>-ring-refN} for
 * page N of a multi-page ring (and {@code ring-page-order} at the top); {@code event-channel}, or
 * {@code event-channel-tx} and {@code event-channel-rx} when the channels are split; with more than one queue,
 * each queue's keys under {@code queue-N/} and {@code multi-queue-num-queues} at the top.
 *
 * @param rings the names of each queue's rings: {@code ""} for blkif's one ring, {@code "tx", "rx"} for netif's
 * @param splitChannels whether the frontend offers a channel per direction (netif's feature-split-event-channels)
 */
public record RingKeys(List<String> rings, boolean splitChannels) {
    /** The channel names with split channels, in the order they are allocated. */
    public static final List<String> SPLIT = List.of("tx", "rx");

    public RingKeys {
        rings = List.copyOf(rings);
        if (rings.isEmpty()) throw new IllegalArgumentException("no rings");
    }

    /** One ring per queue, one event channel: blkif and the simple protocols. */
    public static RingKeys single(String ring) {
        return new RingKeys(List.of(ring), false);
    }

    /** The key of page {@code page} of {@code ring} when the ring has {@code pages} pages. */
    public static String refKey(String ring, int page, int pages) {
        String prefix = ring.isEmpty() ? "" : ring + "-";
        return pages == 1 ? prefix + "ring-ref" : prefix + "ring-ref" + page;
    }

    /** The key of an event channel: {@code event-channel}, or {@code event-channel-tx} for channel "tx". */
    public static String channelKey(String channel) {
        return channel.isEmpty() ? "event-channel" : "event-channel-" + channel;
    }

    /** The channels each queue has: {@code ""}, or {@code "tx", "rx"} when split. */
    public List<String> channels() {
        return splitChannels ? SPLIT : List.of("");
    }

    /** The directory of queue {@code q}'s keys under {@code dir} when there are {@code queues} queues. */
    public static String queueDir(String dir, int q, int queues) {
        return queues == 1 ? dir : dir + "/queue-" + q;
    }
}
