package org.jxen.toolstack;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.jxen.xenstore.client.XsClient;

/**
 * Waiting for a XenStore node to take a value, the libxl way (libxl__ev_xswatch): a watch on the node, and a
 * re-read on every event, bounded by a deadline. The watch fires once when set, so a value already there is
 * seen at once.
 */
final class XsWait {
    private static final AtomicLong TOKENS = new AtomicLong();

    private XsWait() {}

    /** The node's value once {@code done} accepts it (null = node absent), or null on timeout. */
    static String until(XsClient xs, String path, Duration timeout, Predicate<String> done)
            throws IOException, InterruptedException {
        return until(xs, path, timeout, done, new CompletableFuture<>());
    }

    /** As above, but also gives up (null) once {@code giveUp} completes, e.g. when a hotplug script exits. */
    static String until(XsClient xs, String path, Duration timeout, Predicate<String> done,
            CompletionStage<?> giveUp) throws IOException, InterruptedException {
        LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
        boolean[] stopped = {false};
        giveUp.thenRun(() -> {
            synchronized (stopped) {
                stopped[0] = true;
            }
            events.add(path);
        });
        String token = "jxen-wait-" + TOKENS.incrementAndGet();
        long deadline = System.nanoTime() + timeout.toNanos();
        xs.watch(path, token, (p, t) -> events.add(p));
        try {
            while (true) {
                String v = xs.readOrNull(path);
                if (done.test(v)) return v;
                synchronized (stopped) {
                    if (stopped[0]) return null;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || events.poll(left, TimeUnit.NANOSECONDS) == null) {
                    String last = xs.readOrNull(path);
                    return done.test(last) ? last : null;
                }
            }
        } finally {
            xs.unwatch(path, token);
        }
    }
}
