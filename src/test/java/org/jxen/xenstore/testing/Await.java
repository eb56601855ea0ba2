package org.jxen.xenstore.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.jxen.xenstore.client.XsClient;

/** Waiting in tests for what other threads and domains do, with a bound, never a timing assertion. */
public final class Await {
    private static final AtomicLong TOKENS = new AtomicLong();

    private Await() {}

    /** Waits, on a watch, until the node exists with a value {@code ok} accepts; false after {@code seconds}. */
    public static boolean value(XsClient xs, String path, Predicate<String> ok, long seconds) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        String token = "await-" + TOKENS.incrementAndGet();
        xs.watch(path, token, (p, t) -> q.add(p));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        try {
            while (true) {
                String v = readOrNull(xs, path);
                if (v != null && ok.test(v)) return true;
                long left = deadline - System.nanoTime();
                if (left <= 0 || q.poll(left, TimeUnit.NANOSECONDS) == null) return false;
            }
        } finally {
            xs.unwatch(path, token);
        }
    }

    public static String readOrNull(XsClient xs, String path) throws IOException {
        return xs.exists(path) ? xs.readString(path) : null;
    }

    /** For conditions nothing announces (resource counters): re-checked until true, failing after {@code seconds}. */
    public static void until(String what, BooleanSupplier condition, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() < deadline).as("waiting for %s", what).isTrue();
            Thread.sleep(20);
        }
    }
}
